package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.testing.CProbe;
import dev.mesovirt.vmm.testing.HostRequirement;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The arm64 KVM ABI values: golden numbers (from arch/arm64/include/uapi/asm/kvm.h and include/uapi/linux/kvm.h,
 * and the ioctl numbers seen working on a real arm64 KVM host), and, where the arm64 uapi headers are at hand, the
 * same values computed by the C compiler from them. The headers: Debian trixie's linux-libc-dev (all
 * architectures' asm/ under /usr/include/TRIPLET) or a directory named by MESOVIRT_ARM64_UAPI that holds
 * {@code linux/kvm.h} and {@code aarch64-linux-gnu/asm/kvm.h}.
 */
class Arm64KvmTest {
    @Test
    void oneRegIds() {
        assertEquals(0x6030_0000_0010_0000L, Arm64Kvm.REG_X0);
        assertEquals(0x6030_0000_0010_0002L, Arm64Kvm.xRegister(1));
        assertEquals(0x6030_0000_0010_003cL, Arm64Kvm.xRegister(30));
        assertEquals(0x6030_0000_0010_003eL, Arm64Kvm.REG_SP);
        assertEquals(0x6030_0000_0010_0040L, Arm64Kvm.REG_PC);
        assertEquals(0x6030_0000_0010_0042L, Arm64Kvm.REG_PSTATE);
        assertEquals(0x6030_0000_0013_C005L, Arm64Kvm.REG_MPIDR_EL1);
        assertEquals(0x6030_0000_0013_DF1AL, Arm64Kvm.REG_TIMER_CNT);
        // CNTVCT_EL0 (3, 3, 14, 0, 2): KVM_REG_ARM_TIMER_CVAL's swapped encoding in the uapi header.
        assertEquals(0x6030_0000_0013_DF02L, Arm64Kvm.systemRegister(3, 3, 14, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> Arm64Kvm.xRegister(31));
        assertThrows(IllegalArgumentException.class, () -> Arm64Kvm.coreRegister(4));
    }

    @Test
    void ioctlNumbersAndStructSizes() {
        assertEquals(32, Arm64Kvm.VCPU_INIT_SIZE);
        assertEquals(0x4020_AEAEL, Arm64Kvm.ARM_VCPU_INIT);
        assertEquals(0x8020_AEAFL, Arm64Kvm.ARM_PREFERRED_TARGET);
    }

    @Test
    void snapshotIdsAndAttributes() {
        assertEquals(0x6030_0000_0013_DF19L, Arm64Kvm.REG_TIMER_CTL);
        assertEquals(0x6030_0000_0013_DF02L, Arm64Kvm.REG_TIMER_CVAL);
        assertEquals(0xc008_aeb0L, dev.mesovirt.vmm.kvm.KvmIoctls.GET_REG_LIST);
        assertEquals(0x8004_ae98L, dev.mesovirt.vmm.kvm.KvmIoctls.GET_MP_STATE);
        assertEquals(0x4018_aee2L, dev.mesovirt.vmm.kvm.KvmIoctls.GET_DEVICE_ATTR);
        // Aff0 in bits 32-39, Aff1 40-47, Aff2 48-55, Aff3 (MPIDR bits 32-39) 56-63; MPIDR's RES1 bit 31 dropped.
        assertEquals(0L, Arm64Kvm.vgicMpidrAttr(VcpuSetup.expectedMpidr(0)));
        assertEquals(0x0000_0001_0000_0000L, Arm64Kvm.vgicMpidrAttr(VcpuSetup.expectedMpidr(1)));
        assertEquals(0x0000_0702_0000_0000L, Arm64Kvm.vgicMpidrAttr(VcpuSetup.expectedMpidr(114)));
        assertEquals(0x0403_0201_0000_0000L, Arm64Kvm.vgicMpidrAttr(0x04_8003_0201L));
        // ICC_SRE_EL1 = S3_0_C12_C12_5, ICC_AP1R0_EL1 = S3_0_C12_C9_0, ICC_PMR_EL1 = S3_0_C4_C6_0.
        assertEquals(0xc665L, Arm64StateIo.ICC_SRE_EL1);
        assertEquals(0xc648L, Arm64StateIo.iccAp1r(0));
        assertEquals(0xc644L, Arm64StateIo.iccAp0r(0));
        assertEquals(0xc230L, Arm64StateIo.ICC_PMR_EL1);
    }

    @Test
    void vcpuFeaturesAndBootState() {
        assertEquals(0b100, VcpuSetup.features(0));
        assertEquals(0b101, VcpuSetup.features(1));
        assertEquals(0x3c5, Arm64Kvm.PSTATE_EL1H_DAIF_MASKED);
    }

    @Test
    void vgicAttributes() {
        assertEquals(7, Arm64Kvm.DEV_TYPE_ARM_VGIC_V3);
        assertEquals(0, Arm64Kvm.VGIC_GRP_ADDR);
        assertEquals(2, Arm64Kvm.VGIC_V3_ADDR_TYPE_DIST);
        assertEquals(3, Arm64Kvm.VGIC_V3_ADDR_TYPE_REDIST);
        assertEquals(3, Arm64Kvm.VGIC_GRP_NR_IRQS);
        assertEquals(4, Arm64Kvm.VGIC_GRP_CTRL);
        assertEquals(0, Arm64Kvm.VGIC_CTRL_INIT);
        assertEquals(0x10000, Arm64Kvm.VGIC_V3_DIST_SIZE);
        assertEquals(0x20000, Arm64Kvm.VGIC_V3_REDIST_SIZE);
        assertEquals(8, Arm64Kvm.DEV_TYPE_ARM_VGIC_ITS);
        assertEquals(4, Arm64Kvm.VGIC_ITS_ADDR_TYPE);
        assertEquals(0x20000, Arm64Kvm.VGIC_V3_ITS_SIZE);
    }

    @Test
    void irqLineEncoding() {
        // irq_type (SPI = 1) in bits 24-27, vcpu_index (ignored for SPIs) in 16-23, INTID in 0-15.
        assertEquals(0x0100_0020, Arm64Kvm.spiIrqLine(32));
        assertEquals(0x0100_0021, Arm64Kvm.spiIrqLine(33));
        assertEquals(0x0100_03fb, Arm64Kvm.spiIrqLine(1019));
        assertThrows(IllegalArgumentException.class, () -> Arm64Kvm.spiIrqLine(31));
        assertThrows(IllegalArgumentException.class, () -> Arm64Kvm.spiIrqLine(1020));
        assertEquals(48, Arm64Kvm.vmTypeIpaSize(48));
    }

    @Test
    void mpidrAsKvmResetsIt() {
        assertEquals(0x8000_0000L, VcpuSetup.expectedMpidr(0));
        assertEquals(0x8000_0001L, VcpuSetup.expectedMpidr(1));
        assertEquals(0x8000_000fL, VcpuSetup.expectedMpidr(15));
        assertEquals(0x8000_0100L, VcpuSetup.expectedMpidr(16));
        assertEquals(0x8000_0702L, VcpuSetup.expectedMpidr(114));
        assertEquals(0x0000_0702L, VcpuSetup.affinity(VcpuSetup.expectedMpidr(114)));
        assertEquals(0x0001_0000L, VcpuSetup.affinity(VcpuSetup.expectedMpidr(4096)));
    }

    @Test
    void valuesMatchTheArm64UapiHeaders() throws Exception {
        Optional<CProbe.ForeignHeaders> headers = arm64Uapi();
        // Under CI the headers are there (ci/test.sh fetches them: ci/uapi-headers.sh): never skip this check there.
        HostRequirement.require(headers.isPresent(), "no arm64 uapi headers (export $(bash ci/uapi-headers.sh), or set "
                + "MESOVIRT_ARM64_UAPI)");
        String core = "KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG";
        Map<String, Long> expected = new LinkedHashMap<>();
        Map<String, String> expr = new LinkedHashMap<>();
        put(expected, expr, "vcpu_init_size", "sizeof(struct kvm_vcpu_init)", Arm64Kvm.VCPU_INIT_SIZE);
        put(expected, expr, "features_offset", "offsetof(struct kvm_vcpu_init, features)", Arm64Kvm.VCPU_INIT_FEATURES);
        put(expected, expr, "vcpu_init", "KVM_ARM_VCPU_INIT", Arm64Kvm.ARM_VCPU_INIT);
        put(expected, expr, "preferred_target", "KVM_ARM_PREFERRED_TARGET", Arm64Kvm.ARM_PREFERRED_TARGET);
        put(expected, expr, "x0", core + "(regs.regs[0])", Arm64Kvm.REG_X0);
        put(expected, expr, "x3", core + "(regs.regs[3])", Arm64Kvm.xRegister(3));
        put(expected, expr, "sp", core + "(regs.sp)", Arm64Kvm.REG_SP);
        put(expected, expr, "pc", core + "(regs.pc)", Arm64Kvm.REG_PC);
        put(expected, expr, "pstate", core + "(regs.pstate)", Arm64Kvm.REG_PSTATE);
        put(expected, expr, "mpidr", "ARM64_SYS_REG(3, 0, 0, 0, 5)", Arm64Kvm.REG_MPIDR_EL1);
        put(expected, expr, "timer_cnt", "KVM_REG_ARM_TIMER_CNT", Arm64Kvm.REG_TIMER_CNT);
        put(expected, expr, "power_off", "KVM_ARM_VCPU_POWER_OFF", Arm64Kvm.FEATURE_POWER_OFF);
        put(expected, expr, "psci_0_2", "KVM_ARM_VCPU_PSCI_0_2", Arm64Kvm.FEATURE_PSCI_0_2);
        put(expected, expr, "vgic_v3", "KVM_DEV_TYPE_ARM_VGIC_V3", Arm64Kvm.DEV_TYPE_ARM_VGIC_V3);
        put(expected, expr, "grp_addr", "KVM_DEV_ARM_VGIC_GRP_ADDR", Arm64Kvm.VGIC_GRP_ADDR);
        put(expected, expr, "grp_nr_irqs", "KVM_DEV_ARM_VGIC_GRP_NR_IRQS", Arm64Kvm.VGIC_GRP_NR_IRQS);
        put(expected, expr, "grp_ctrl", "KVM_DEV_ARM_VGIC_GRP_CTRL", Arm64Kvm.VGIC_GRP_CTRL);
        put(expected, expr, "ctrl_init", "KVM_DEV_ARM_VGIC_CTRL_INIT", Arm64Kvm.VGIC_CTRL_INIT);
        put(expected, expr, "dist", "KVM_VGIC_V3_ADDR_TYPE_DIST", Arm64Kvm.VGIC_V3_ADDR_TYPE_DIST);
        put(expected, expr, "redist", "KVM_VGIC_V3_ADDR_TYPE_REDIST", Arm64Kvm.VGIC_V3_ADDR_TYPE_REDIST);
        put(expected, expr, "vgic_its", "KVM_DEV_TYPE_ARM_VGIC_ITS", Arm64Kvm.DEV_TYPE_ARM_VGIC_ITS);
        put(expected, expr, "its_addr", "KVM_VGIC_ITS_ADDR_TYPE", Arm64Kvm.VGIC_ITS_ADDR_TYPE);
        put(expected, expr, "irq_type_shift", "KVM_ARM_IRQ_TYPE_SHIFT", Arm64Kvm.IRQ_TYPE_SHIFT);
        put(expected, expr, "irq_vcpu_shift", "KVM_ARM_IRQ_VCPU_SHIFT", Arm64Kvm.IRQ_VCPU_SHIFT);
        put(expected, expr, "irq_num_mask", "KVM_ARM_IRQ_NUM_MASK", Arm64Kvm.IRQ_NUM_MASK);
        put(expected, expr, "irq_type_spi", "KVM_ARM_IRQ_TYPE_SPI", Arm64Kvm.IRQ_TYPE_SPI);
        put(expected, expr, "irq_type_ppi", "KVM_ARM_IRQ_TYPE_PPI", Arm64Kvm.IRQ_TYPE_PPI);
        put(expected, expr, "timer_ctl", "KVM_REG_ARM_TIMER_CTL", Arm64Kvm.REG_TIMER_CTL);
        put(expected, expr, "timer_cval", "KVM_REG_ARM_TIMER_CVAL", Arm64Kvm.REG_TIMER_CVAL);
        put(expected, expr, "reg_arch_mask", "KVM_REG_ARCH_MASK", dev.mesovirt.vmm.snapshot.RegisterListState.REG_ARCH_MASK);
        put(expected, expr, "reg_arm64", "KVM_REG_ARM64", Arm64Kvm.REG_ARM64);
        put(expected, expr, "mp_runnable", "KVM_MP_STATE_RUNNABLE", Arm64Kvm.MP_STATE_RUNNABLE);
        put(expected, expr, "mp_stopped", "KVM_MP_STATE_STOPPED", Arm64Kvm.MP_STATE_STOPPED);
        put(expected, expr, "mp_suspended", "KVM_MP_STATE_SUSPENDED", Arm64Kvm.MP_STATE_SUSPENDED);
        put(expected, expr, "get_mp_state", "KVM_GET_MP_STATE", dev.mesovirt.vmm.kvm.KvmIoctls.GET_MP_STATE);
        put(expected, expr, "set_mp_state", "KVM_SET_MP_STATE", dev.mesovirt.vmm.kvm.KvmIoctls.SET_MP_STATE);
        put(expected, expr, "get_reg_list", "KVM_GET_REG_LIST", dev.mesovirt.vmm.kvm.KvmIoctls.GET_REG_LIST);
        put(expected, expr, "reg_list_size", "sizeof(struct kvm_reg_list)", 8);
        put(expected, expr, "get_device_attr", "KVM_GET_DEVICE_ATTR", dev.mesovirt.vmm.kvm.KvmIoctls.GET_DEVICE_ATTR);
        put(expected, expr, "grp_dist_regs", "KVM_DEV_ARM_VGIC_GRP_DIST_REGS", Arm64Kvm.VGIC_GRP_DIST_REGS);
        put(expected, expr, "grp_redist_regs", "KVM_DEV_ARM_VGIC_GRP_REDIST_REGS", Arm64Kvm.VGIC_GRP_REDIST_REGS);
        put(expected, expr, "grp_cpu_sysregs", "KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS", Arm64Kvm.VGIC_GRP_CPU_SYSREGS);
        put(expected, expr, "grp_level_info", "KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO", Arm64Kvm.VGIC_GRP_LEVEL_INFO);
        put(expected, expr, "mpidr_shift", "KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT", Arm64Kvm.VGIC_V3_MPIDR_SHIFT);
        put(expected, expr, "level_info_shift", "KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT",
                Arm64Kvm.VGIC_LINE_LEVEL_INFO_SHIFT);
        put(expected, expr, "level_info_line", "VGIC_LEVEL_INFO_LINE_LEVEL", 0);
        put(expected, expr, "sysreg_mask", "KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK", 0xffff);
        put(expected, expr, "icc_ctlr", "ARM64_SYS_REG(3, 0, 12, 12, 4) & KVM_DEV_ARM_VGIC_SYSREG_INSTR_MASK",
                Arm64StateIo.ICC_CTLR_EL1);
        put(expected, expr, "cap_ipa", "KVM_CAP_ARM_VM_IPA_SIZE", 165);
        put(expected, expr, "ipa48", "KVM_VM_TYPE_ARM_IPA_SIZE(48)", Arm64Kvm.vmTypeIpaSize(48));
        // The arm64 headers first: they use only fixed-size types, so the host compiler computes arm64's layout.
        assertEquals(expected, CProbe.evaluate(headers.get(), List.of(), List.of("linux/kvm.h"), expr));
    }

    private static void put(Map<String, Long> expected, Map<String, String> expr, String name, String c, long value) {
        expected.put(name, value);
        expr.put(name, c);
    }

    static Optional<CProbe.ForeignHeaders> arm64Uapi() {
        String env = System.getenv("MESOVIRT_ARM64_UAPI");
        return CProbe.ForeignHeaders.find("aarch64-linux-gnu", List.of(Path.of(env != null ? env : "/usr/include")));
    }
}
