package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.kvm.KvmIoctls;
import dev.mesovirt.vmm.sys.Ioctls;

/**
 * The arm64 half of KVM's user API: ioctl numbers, vCPU features, ONE_REG register ids, vGICv3 device attributes
 * and the KVM_IRQ_LINE encoding. Every value comes from the kernel's {@code arch/arm64/include/uapi/asm/kvm.h} and
 * {@code include/uapi/linux/kvm.h}; {@code Arm64KvmTest} holds them as golden values (and, given the arm64 uapi
 * headers, recomputes them with the C compiler).
 */
public final class Arm64Kvm {
    private Arm64Kvm() {}

    /** sizeof(struct kvm_vcpu_init): {@code __u32 target; __u32 features[7];}. */
    public static final int VCPU_INIT_SIZE = 32;
    /** Offset of {@code features[0]} in struct kvm_vcpu_init. */
    public static final int VCPU_INIT_FEATURES = 4;

    /** KVM_ARM_VCPU_INIT = _IOW(KVMIO, 0xae, struct kvm_vcpu_init) = 0x4020AEAE. */
    public static final long ARM_VCPU_INIT = Ioctls.iow(KvmIoctls.KVMIO, 0xae, VCPU_INIT_SIZE);
    /** KVM_ARM_PREFERRED_TARGET = _IOR(KVMIO, 0xaf, struct kvm_vcpu_init) = 0x8020AEAF. */
    public static final long ARM_PREFERRED_TARGET = Ioctls.ior(KvmIoctls.KVMIO, 0xaf, VCPU_INIT_SIZE);

    // kvm_vcpu_init.features[0] bit numbers.
    /** KVM_ARM_VCPU_POWER_OFF: the vCPU starts powered off until a PSCI CPU_ON. */
    public static final int FEATURE_POWER_OFF = 0;
    /** KVM_ARM_VCPU_PSCI_0_2: the vCPU's firmware interface is PSCI 0.2 (or later). */
    public static final int FEATURE_PSCI_0_2 = 2;

    // ONE_REG ids: KVM_REG_ARM64 | KVM_REG_SIZE_U64 | coprocessor | index.
    public static final long REG_ARM64 = 0x6000_0000_0000_0000L;
    public static final long REG_SIZE_U64 = 0x0030_0000_0000_0000L;
    /** KVM_REG_ARM_CORE: "coprocessor" 0x10, indexed by the u32 offset in struct kvm_regs. */
    public static final long REG_ARM_CORE = 0x0010L << 16;
    /** KVM_REG_ARM64_SYSREG: "coprocessor" 0x13, indexed by op0/op1/CRn/CRm/op2. */
    public static final long REG_ARM64_SYSREG = 0x0013L << 16;

    /** The ONE_REG id of the 64-bit core register at byte {@code offset} of struct kvm_regs. */
    public static long coreRegister(int offset) {
        if (offset < 0 || offset % 8 != 0) {
            throw new IllegalArgumentException("core register offset must be a non-negative multiple of 8: " + offset);
        }
        return REG_ARM64 | REG_SIZE_U64 | REG_ARM_CORE | (offset / 4);
    }

    /** ARM64_SYS_REG(op0, op1, crn, crm, op2): a 64-bit system register. */
    public static long systemRegister(int op0, int op1, int crn, int crm, int op2) {
        return REG_ARM64 | REG_SIZE_U64 | REG_ARM64_SYSREG | ((op0 & 0x3L) << 14) | ((op1 & 0x7L) << 11)
                | ((crn & 0xfL) << 7) | ((crm & 0xfL) << 3) | (op2 & 0x7L);
    }

    /** struct kvm_regs starts with struct user_pt_regs: regs[31], sp, pc, pstate (all u64). */
    public static long xRegister(int n) {
        if (n < 0 || n > 30) {
            throw new IllegalArgumentException("x" + n + " is not a general-purpose register");
        }
        return coreRegister(8 * n);
    }

    public static final long REG_X0 = xRegister(0);
    /** user_pt_regs.sp (SP_EL0), byte offset 248. */
    public static final long REG_SP = coreRegister(8 * 31);
    /** user_pt_regs.pc, byte offset 256: 0x6030000000100040. */
    public static final long REG_PC = coreRegister(8 * 32);
    /** user_pt_regs.pstate, byte offset 264: 0x6030000000100042. */
    public static final long REG_PSTATE = coreRegister(8 * 33);
    /** MPIDR_EL1 = op0 3, op1 0, CRn 0, CRm 0, op2 5: 0x603000000013C005. */
    public static final long REG_MPIDR_EL1 = systemRegister(3, 0, 0, 0, 5);
    /**
     * KVM_REG_ARM_TIMER_CNT, the guest's virtual counter (the uapi swaps CNT's and CVAL's encodings): reading it and
     * writing the value back later moves the VM's counter offset, which is how a pause is hidden from the guest.
     */
    public static final long REG_TIMER_CNT = systemRegister(3, 3, 14, 3, 2);

    /** KVM_REG_ARM_TIMER_CTL: the virtual timer's CNTV_CTL_EL0. */
    public static final long REG_TIMER_CTL = systemRegister(3, 3, 14, 3, 1);
    /** KVM_REG_ARM_TIMER_CVAL: the virtual timer's compare value, in the guest's counter time. */
    public static final long REG_TIMER_CVAL = systemRegister(3, 3, 14, 0, 2);

    /** KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_STOPPED and KVM_MP_STATE_SUSPENDED: what arm64's KVM_SET_MP_STATE takes. */
    public static final int MP_STATE_RUNNABLE = 0;
    public static final int MP_STATE_STOPPED = 5;
    public static final int MP_STATE_SUSPENDED = 10;

    /** PSTATE at kernel entry: EL1h (M = 0b0101) with D, A, I and F masked (booting.rst). */
    public static final long PSTATE_EL1H_DAIF_MASKED = 0x3c5;
    /** The affinity fields of MPIDR_EL1: Aff3 (bits 32-39) and Aff2..Aff0 (bits 0-23). */
    public static final long MPIDR_AFFINITY_MASK = 0xff_00ff_ffffL;

    // vGICv3 (KVM_CREATE_DEVICE and its attributes).
    /** KVM_DEV_TYPE_ARM_VGIC_V3 (enum kvm_device_type). */
    public static final int DEV_TYPE_ARM_VGIC_V3 = 7;
    public static final int VGIC_GRP_ADDR = 0;
    public static final int VGIC_GRP_NR_IRQS = 3;
    public static final int VGIC_GRP_CTRL = 4;
    public static final int VGIC_V3_ADDR_TYPE_DIST = 2;
    public static final int VGIC_V3_ADDR_TYPE_REDIST = 3;
    public static final int VGIC_CTRL_INIT = 0;
    /** KVM_VGIC_V3_DIST_SIZE: 64 KiB. */
    public static final long VGIC_V3_DIST_SIZE = 0x1_0000;
    /** KVM_VGIC_V3_REDIST_SIZE: two 64 KiB frames (RD_base and SGI_base) per vCPU. */
    public static final long VGIC_V3_REDIST_SIZE = 0x2_0000;
    /** KVM_DEV_TYPE_ARM_VGIC_ITS: the vGICv3's interrupt translation service, which turns MSIs into LPIs. */
    public static final int DEV_TYPE_ARM_VGIC_ITS = 8;
    /** KVM_VGIC_ITS_ADDR_TYPE: the ITS's base address (group KVM_DEV_ARM_VGIC_GRP_ADDR). */
    public static final int VGIC_ITS_ADDR_TYPE = 4;
    /** KVM_VGIC_V3_ITS_SIZE: the ITS's two 64 KiB frames (control, and translation with GITS_TRANSLATER). */
    public static final long VGIC_V3_ITS_SIZE = 0x2_0000;
    /** GITS_TRANSLATER's offset in the ITS frame: the address a device writes its MSI's event ID to. */
    public static final long GITS_TRANSLATER = 0x1_0040;

    // vGICv3 state (struct kvm_device_attr's group; Documentation/virt/kvm/devices/arm-vgic-v3.rst).
    /** KVM_DEV_ARM_VGIC_GRP_DIST_REGS: a 32-bit distributor register at attr's offset. */
    public static final int VGIC_GRP_DIST_REGS = 1;
    /** KVM_DEV_ARM_VGIC_GRP_REDIST_REGS: a 32-bit redistributor register; attr = MPIDR affinity << 32 | offset. */
    public static final int VGIC_GRP_REDIST_REGS = 5;
    /** KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS: a 64-bit ICC_* register; attr = MPIDR affinity << 32 | op0..op2. */
    public static final int VGIC_GRP_CPU_SYSREGS = 6;
    /** KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO: the line levels of 32 interrupts from attr's INTID (a multiple of 32). */
    public static final int VGIC_GRP_LEVEL_INFO = 7;
    /** KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT. */
    public static final int VGIC_V3_MPIDR_SHIFT = 32;
    /** KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT; VGIC_LEVEL_INFO_LINE_LEVEL is 0 in these bits. */
    public static final int VGIC_LINE_LEVEL_INFO_SHIFT = 10;

    /**
     * The vGIC attribute's affinity field for a vCPU's MPIDR_EL1: Aff3..Aff0 packed into 32 bits (Aff0 lowest) and
     * shifted to bits 63-32, as KVM's VGIC_TO_MPIDR unpacks it.
     */
    public static long vgicMpidrAttr(long mpidr) {
        long packed = (mpidr & 0xff_ffffL) | ((mpidr >>> 32) & 0xffL) << 24;
        return packed << VGIC_V3_MPIDR_SHIFT;
    }

    /** The CPU_SYSREGS attribute's instruction field: op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2. */
    public static long vgicSysreg(int op0, int op1, int crn, int crm, int op2) {
        return systemRegister(op0, op1, crn, crm, op2) & 0xffffL;
    }

    // KVM_IRQ_LINE's irq field on arm64: vcpu2_index 31-28, irq_type 27-24, vcpu_index 23-16, irq_id 15-0.
    public static final int IRQ_TYPE_SHIFT = 24;
    public static final int IRQ_VCPU_SHIFT = 16;
    public static final int IRQ_NUM_MASK = 0xffff;
    public static final int IRQ_TYPE_SPI = 1;
    public static final int IRQ_TYPE_PPI = 2;

    /** INTIDs 0-15 are SGIs and 16-31 PPIs; SPIs start at 32. */
    public static final int SPI_BASE = 32;

    /** The KVM_IRQ_LINE word for shared peripheral interrupt INTID {@code intid} (32..1019); vcpu_index is ignored. */
    public static int spiIrqLine(int intid) {
        if (intid < SPI_BASE || intid > 1019) {
            throw new IllegalArgumentException("SPI INTIDs are 32..1019, not " + intid);
        }
        return (IRQ_TYPE_SPI << IRQ_TYPE_SHIFT) | (intid & IRQ_NUM_MASK);
    }

    /** KVM_VM_TYPE_ARM_IPA_SIZE(bits): the IPA size in the low byte of KVM_CREATE_VM's type. */
    public static long vmTypeIpaSize(int bits) {
        return bits & 0xffL;
    }
}
