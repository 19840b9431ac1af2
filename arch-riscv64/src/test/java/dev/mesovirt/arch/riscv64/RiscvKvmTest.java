package dev.mesovirt.arch.riscv64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.testing.CProbe;
import dev.mesovirt.vmm.testing.HostRequirement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The riscv64 KVM ABI values: golden numbers (from arch/riscv/include/uapi/asm/kvm.h and include/uapi/linux/kvm.h of
 * Linux 6.12) and, where the riscv64 uapi headers are at hand, the same values computed by the C compiler from
 * them. The headers: Debian trixie's linux-libc-dev (all architectures' asm/ under /usr/include/TRIPLET; the CI
 * cache has it unpacked under ~/.cache/mesovirt/pkgs-trixie-riscv64/) or MESOVIRT_RISCV64_UAPI (an include dir).
 */
class RiscvKvmTest {
    @Test
    void goldenRegisterIds() {
        assertEquals(0x8030_0000_0200_0000L, RiscvKvm.CORE_PC);
        assertEquals(0x8030_0000_0200_000AL, RiscvKvm.CORE_A0);
        assertEquals(0x8030_0000_0200_000BL, RiscvKvm.CORE_A1);
        assertEquals(0x8030_0000_0200_0020L, RiscvKvm.CORE_MODE);
        assertEquals(0x8030_0000_0100_0000L, RiscvKvm.CONFIG_ISA);
        assertEquals(0x8030_0000_0100_0001L, RiscvKvm.CONFIG_ZICBOM_BLOCK_SIZE);
        assertEquals(0x8030_0000_0100_0005L, RiscvKvm.CONFIG_ZICBOZ_BLOCK_SIZE);
        assertEquals(0x8030_0000_0100_0006L, RiscvKvm.CONFIG_SATP_MODE);
        assertEquals(0x8030_0000_0400_0000L, RiscvKvm.TIMER_FREQUENCY);
        assertEquals(0x8030_0000_0400_0001L, RiscvKvm.TIMER_TIME);
        assertEquals(0x8030_0000_0700_000EL, RiscvKvm.isaExtension(RiscvKvm.ISA_EXT_SSAIA));
        assertEquals(0x8030_0000_0302_0000L, RiscvKvm.CSR_SSTATEEN0);
        assertEquals(14, RiscvKvm.ISA_EXT_SSAIA);
        assertEquals(23, RiscvKvm.ISA_EXT_SMSTATEEN);
        assertEquals(62, RiscvKvm.ISA_EXTENSIONS.size()); // KVM_RISCV_ISA_EXT_MAX in 6.12
        assertEquals(11, RiscvKvm.DEV_TYPE_RISCV_AIA);
        assertEquals(2, RiscvKvm.aiaAddrImsic(1));
    }

    @Test
    void mmuTypes() {
        assertEquals("riscv,sv39", RiscvKvm.mmuType(8));
        assertEquals("riscv,sv48", RiscvKvm.mmuType(9));
        assertEquals("riscv,sv57", RiscvKvm.mmuType(10));
        assertEquals(null, RiscvKvm.mmuType(0));
    }

    @Test
    void valuesMatchTheRiscv64UapiHeaders() throws Exception {
        Optional<CProbe.ForeignHeaders> headers = riscv64Uapi();
        // Under CI the headers are there (ci/test.sh fetches them: ci/uapi-headers.sh): never skip this check there.
        HostRequirement.require(headers.isPresent(), "no riscv64 uapi headers (export $(bash ci/uapi-headers.sh), or set "
                + "MESOVIRT_RISCV64_UAPI)");
        Map<String, Long> expected = new LinkedHashMap<>();
        Map<String, String> expr = new LinkedHashMap<>();
        String u64 = "KVM_REG_RISCV | KVM_REG_SIZE_U64 | ";
        put(expected, expr, "pc", u64 + "KVM_REG_RISCV_CORE | KVM_REG_RISCV_CORE_REG(regs.pc)", RiscvKvm.CORE_PC);
        put(expected, expr, "a0", u64 + "KVM_REG_RISCV_CORE | KVM_REG_RISCV_CORE_REG(regs.a0)", RiscvKvm.CORE_A0);
        put(expected, expr, "a1", u64 + "KVM_REG_RISCV_CORE | KVM_REG_RISCV_CORE_REG(regs.a1)", RiscvKvm.CORE_A1);
        put(expected, expr, "mode", u64 + "KVM_REG_RISCV_CORE | KVM_REG_RISCV_CORE_REG(mode)", RiscvKvm.CORE_MODE);
        put(expected, expr, "mode_s", "KVM_RISCV_MODE_S", RiscvKvm.MODE_S);
        put(expected, expr, "isa", u64 + "KVM_REG_RISCV_CONFIG | KVM_REG_RISCV_CONFIG_REG(isa)", RiscvKvm.CONFIG_ISA);
        put(expected, expr, "cbom", u64 + "KVM_REG_RISCV_CONFIG | KVM_REG_RISCV_CONFIG_REG(zicbom_block_size)",
                RiscvKvm.CONFIG_ZICBOM_BLOCK_SIZE);
        put(expected, expr, "cboz", u64 + "KVM_REG_RISCV_CONFIG | KVM_REG_RISCV_CONFIG_REG(zicboz_block_size)",
                RiscvKvm.CONFIG_ZICBOZ_BLOCK_SIZE);
        put(expected, expr, "satp_mode", u64 + "KVM_REG_RISCV_CONFIG | KVM_REG_RISCV_CONFIG_REG(satp_mode)",
                RiscvKvm.CONFIG_SATP_MODE);
        put(expected, expr, "satp", u64 + "KVM_REG_RISCV_CSR | KVM_REG_RISCV_CSR_GENERAL | KVM_REG_RISCV_CSR_REG(satp)",
                RiscvKvm.CSR_SATP);
        put(expected, expr, "sstateen0", u64 + "KVM_REG_RISCV_CSR | KVM_REG_RISCV_CSR_SMSTATEEN"
                + " | KVM_REG_RISCV_CSR_SMSTATEEN_REG(sstateen0)", RiscvKvm.CSR_SSTATEEN0);
        put(expected, expr, "freq", u64 + "KVM_REG_RISCV_TIMER | KVM_REG_RISCV_TIMER_REG(frequency)",
                RiscvKvm.TIMER_FREQUENCY);
        put(expected, expr, "time", u64 + "KVM_REG_RISCV_TIMER | KVM_REG_RISCV_TIMER_REG(time)", RiscvKvm.TIMER_TIME);
        put(expected, expr, "ext_max", "KVM_RISCV_ISA_EXT_MAX", RiscvKvm.ISA_EXTENSIONS.size());
        for (int i = 0; i < RiscvKvm.ISA_EXTENSIONS.size(); i++) {
            String n = RiscvKvm.ISA_EXTENSIONS.get(i).toUpperCase(java.util.Locale.ROOT);
            put(expected, expr, "ext_" + n, u64 + "KVM_REG_RISCV_ISA_EXT | KVM_REG_RISCV_ISA_SINGLE | KVM_RISCV_ISA_EXT_" + n,
                    RiscvKvm.isaExtension(i));
        }
        put(expected, expr, "aia", "KVM_DEV_TYPE_RISCV_AIA", RiscvKvm.DEV_TYPE_RISCV_AIA);
        put(expected, expr, "grp_config", "KVM_DEV_RISCV_AIA_GRP_CONFIG", RiscvKvm.AIA_GRP_CONFIG);
        put(expected, expr, "cfg_mode", "KVM_DEV_RISCV_AIA_CONFIG_MODE", RiscvKvm.AIA_CONFIG_MODE);
        put(expected, expr, "cfg_ids", "KVM_DEV_RISCV_AIA_CONFIG_IDS", RiscvKvm.AIA_CONFIG_IDS);
        put(expected, expr, "cfg_srcs", "KVM_DEV_RISCV_AIA_CONFIG_SRCS", RiscvKvm.AIA_CONFIG_SRCS);
        put(expected, expr, "cfg_group_bits", "KVM_DEV_RISCV_AIA_CONFIG_GROUP_BITS", RiscvKvm.AIA_CONFIG_GROUP_BITS);
        put(expected, expr, "cfg_group_shift", "KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT", RiscvKvm.AIA_CONFIG_GROUP_SHIFT);
        put(expected, expr, "cfg_hart_bits", "KVM_DEV_RISCV_AIA_CONFIG_HART_BITS", RiscvKvm.AIA_CONFIG_HART_BITS);
        put(expected, expr, "cfg_guest_bits", "KVM_DEV_RISCV_AIA_CONFIG_GUEST_BITS", RiscvKvm.AIA_CONFIG_GUEST_BITS);
        put(expected, expr, "mode_emul", "KVM_DEV_RISCV_AIA_MODE_EMUL", RiscvKvm.AIA_MODE_EMUL);
        put(expected, expr, "mode_hwaccel", "KVM_DEV_RISCV_AIA_MODE_HWACCEL", RiscvKvm.AIA_MODE_HWACCEL);
        put(expected, expr, "mode_auto", "KVM_DEV_RISCV_AIA_MODE_AUTO", RiscvKvm.AIA_MODE_AUTO);
        put(expected, expr, "ids_min", "KVM_DEV_RISCV_AIA_IDS_MIN", RiscvKvm.AIA_IDS_MIN);
        put(expected, expr, "ids_max", "KVM_DEV_RISCV_AIA_IDS_MAX", RiscvKvm.AIA_IDS_MAX);
        put(expected, expr, "srcs_max", "KVM_DEV_RISCV_AIA_SRCS_MAX", RiscvKvm.AIA_SRCS_MAX);
        put(expected, expr, "hart_bits_max", "KVM_DEV_RISCV_AIA_HART_BITS_MAX", RiscvKvm.AIA_HART_BITS_MAX);
        put(expected, expr, "grp_addr", "KVM_DEV_RISCV_AIA_GRP_ADDR", RiscvKvm.AIA_GRP_ADDR);
        put(expected, expr, "addr_aplic", "KVM_DEV_RISCV_AIA_ADDR_APLIC", RiscvKvm.AIA_ADDR_APLIC);
        put(expected, expr, "addr_imsic3", "KVM_DEV_RISCV_AIA_ADDR_IMSIC(3)", RiscvKvm.aiaAddrImsic(3));
        put(expected, expr, "grp_ctrl", "KVM_DEV_RISCV_AIA_GRP_CTRL", RiscvKvm.AIA_GRP_CTRL);
        put(expected, expr, "ctrl_init", "KVM_DEV_RISCV_AIA_CTRL_INIT", RiscvKvm.AIA_CTRL_INIT);
        put(expected, expr, "aplic_size", "KVM_DEV_RISCV_APLIC_SIZE", RiscvKvm.APLIC_SIZE);
        put(expected, expr, "aplic_align", "KVM_DEV_RISCV_APLIC_ALIGN", RiscvKvm.APLIC_ALIGN);
        put(expected, expr, "imsic_size", "KVM_DEV_RISCV_IMSIC_SIZE", RiscvKvm.IMSIC_SIZE);
        put(expected, expr, "imsic_align", "KVM_DEV_RISCV_IMSIC_ALIGN", RiscvKvm.IMSIC_ALIGN);
        put(expected, expr, "mp_stopped", "KVM_MP_STATE_STOPPED", RiscvKvm.MP_STATE_STOPPED);
        put(expected, expr, "mp_runnable", "KVM_MP_STATE_RUNNABLE", RiscvKvm.MP_STATE_RUNNABLE);
        put(expected, expr, "grp_aplic", "KVM_DEV_RISCV_AIA_GRP_APLIC", RiscvKvm.AIA_GRP_APLIC);
        put(expected, expr, "grp_imsic", "KVM_DEV_RISCV_AIA_GRP_IMSIC", RiscvKvm.AIA_GRP_IMSIC);
        put(expected, expr, "isel_bits", "KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS", RiscvKvm.AIA_IMSIC_ISEL_BITS);
        put(expected, expr, "imsic_attr", "KVM_DEV_RISCV_AIA_IMSIC_MKATTR(3, 0xc2)", RiscvKvm.imsicAttr(3, 0xc2));
        put(expected, expr, "reg_riscv", "KVM_REG_RISCV", RiscvKvm.REG_RISCV);
        put(expected, expr, "get_reg_list", "KVM_GET_REG_LIST", dev.mesovirt.vmm.kvm.KvmIoctls.GET_REG_LIST);
        put(expected, expr, "get_mp_state", "KVM_GET_MP_STATE", dev.mesovirt.vmm.kvm.KvmIoctls.GET_MP_STATE);
        put(expected, expr, "timer_time", u64 + "KVM_REG_RISCV_TIMER | KVM_REG_RISCV_TIMER_REG(time)",
                RiscvKvm.TIMER_TIME);
        put(expected, expr, "timer_state", u64 + "KVM_REG_RISCV_TIMER | KVM_REG_RISCV_TIMER_REG(state)",
                RiscvKvm.TIMER_STATE);
        // riscv64's uapi headers first; unsigned long is 64 bits on x86_64 as on riscv64, so the layouts agree.
        assertEquals(expected, CProbe.evaluate(headers.get(), List.of("-D__riscv_xlen=64"), List.of("linux/kvm.h"),
                expr));
    }

    private static void put(Map<String, Long> expected, Map<String, String> expr, String name, String c, long value) {
        expected.put(name, value);
        expr.put(name, c);
    }

    static Optional<CProbe.ForeignHeaders> riscv64Uapi() throws IOException {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("MESOVIRT_RISCV64_UAPI");
        if (env != null) {
            candidates.add(Path.of(env));
        } else {
            candidates.add(Path.of("/usr/include"));
            String cache = System.getenv().getOrDefault("MESOVIRT_CACHE",
                    System.getProperty("user.home") + "/.cache/mesovirt");
            Path pkgs = Path.of(cache, "pkgs-trixie-riscv64");
            if (Files.isDirectory(pkgs)) {
                try (var s = Files.list(pkgs)) {
                    s.filter(p -> p.getFileName().toString().startsWith("linux-libc-dev_"))
                            .forEach(p -> candidates.add(p.resolve("usr/include")));
                }
            }
        }
        return CProbe.ForeignHeaders.find("riscv64-linux-gnu", candidates);
    }
}
