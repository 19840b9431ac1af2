package dev.mesovirt.arch.riscv64;

import java.util.List;

/**
 * The riscv64 half of KVM's user API: ONE_REG register ids, ISA extension ids and the AIA device's attributes. Every
 * value comes from the kernel's {@code arch/riscv/include/uapi/asm/kvm.h} and {@code include/uapi/linux/kvm.h}
 * (Linux 6.12, Debian trixie's linux-libc-dev); {@code RiscvKvmTest} holds them as golden values and, given those
 * headers, recomputes them with the C compiler.
 */
public final class RiscvKvm {
    private RiscvKvm() {}

    /** KVM_REG_RISCV: the architecture field of a ONE_REG id. */
    public static final long REG_RISCV = 0x8000_0000_0000_0000L;
    /** KVM_REG_SIZE_U64 (riscv64's {@code unsigned long} registers are all 64 bits). */
    public static final long REG_SIZE_U64 = 0x0030_0000_0000_0000L;
    public static final int TYPE_SHIFT = 24;
    public static final int SUBTYPE_SHIFT = 16;

    public static final int TYPE_CONFIG = 1;
    public static final int TYPE_CORE = 2;
    public static final int TYPE_CSR = 3;
    public static final int TYPE_TIMER = 4;
    public static final int TYPE_ISA_EXT = 7;
    /** KVM_REG_RISCV_CSR_SMSTATEEN subtype of TYPE_CSR. */
    public static final int CSR_SUBTYPE_SMSTATEEN = 2;

    /** A 64-bit ONE_REG id of {@code type}/{@code subtype}, index {@code index}. */
    public static long reg(int type, int subtype, int index) {
        return REG_RISCV | REG_SIZE_U64 | ((long) type << TYPE_SHIFT) | ((long) subtype << SUBTYPE_SHIFT) | index;
    }

    // struct kvm_riscv_config, indexed by unsigned long.
    public static final long CONFIG_ISA = reg(TYPE_CONFIG, 0, 0);
    public static final long CONFIG_ZICBOM_BLOCK_SIZE = reg(TYPE_CONFIG, 0, 1);
    public static final long CONFIG_ZICBOZ_BLOCK_SIZE = reg(TYPE_CONFIG, 0, 5);
    public static final long CONFIG_SATP_MODE = reg(TYPE_CONFIG, 0, 6);

    // struct kvm_riscv_core: struct user_regs_struct (pc, ra, sp, gp, tp, t0-t2, s0, s1, a0-a7, ...), then mode.
    public static final long CORE_PC = reg(TYPE_CORE, 0, 0);
    public static final long CORE_A0 = reg(TYPE_CORE, 0, 10);
    public static final long CORE_A1 = reg(TYPE_CORE, 0, 11);
    public static final long CORE_MODE = reg(TYPE_CORE, 0, 32);
    /** KVM_RISCV_MODE_S: supervisor mode. */
    public static final long MODE_S = 1;

    /** struct kvm_riscv_csr's satp (index 8). */
    public static final long CSR_SATP = reg(TYPE_CSR, 0, 8);
    /** struct kvm_riscv_smstateen_csr's sstateen0. */
    public static final long CSR_SSTATEEN0 = reg(TYPE_CSR, CSR_SUBTYPE_SMSTATEEN, 0);

    /** struct kvm_riscv_timer's frequency (u64, index 0): the guest's timebase. */
    public static final long TIMER_FREQUENCY = reg(TYPE_TIMER, 0, 0);
    /** struct kvm_riscv_timer's time: the guest's time CSR; writing it back after a pause hides the pause. */
    public static final long TIMER_TIME = reg(TYPE_TIMER, 0, 1);
    /** The timer's state: KVM_RISCV_TIMER_STATE_ON (1) while a compare value is armed, OFF (0) otherwise. */
    public static final long TIMER_STATE = reg(TYPE_TIMER, 0, 3);

    /** KVM_REG_RISCV_ISA_EXT | KVM_REG_RISCV_ISA_SINGLE | id: 1 when extension {@code id} is enabled. */
    public static long isaExtension(int id) {
        return reg(TYPE_ISA_EXT, 0, id);
    }

    /**
     * enum KVM_RISCV_ISA_EXT_ID in order (Linux 6.12): the index is the id. Single letters are upper case, like the
     * enum; {@link #isSingleLetter} tells them apart.
     */
    public static final List<String> ISA_EXTENSIONS = List.of(
            "A", "C", "D", "F", "H", "I", "M", "svpbmt", "sstc", "svinval", "zihintpause", "zicbom", "zicboz", "zbb",
            "ssaia", "V", "svnapot", "zba", "zbs", "zicntr", "zicsr", "zifencei", "zihpm", "smstateen", "zicond", "zbc",
            "zbkb", "zbkc", "zbkx", "zknd", "zkne", "zknh", "zkr", "zksed", "zksh", "zkt", "zvbb", "zvbc", "zvkb",
            "zvkg", "zvkned", "zvknha", "zvknhb", "zvksed", "zvksh", "zvkt", "zfh", "zfhmin", "zihintntl", "zvfh",
            "zvfhmin", "zfa", "ztso", "zacas", "sscofpmf", "zimop", "zca", "zcb", "zcd", "zcf", "zcmop", "zawrs");
    public static final int ISA_EXT_SSAIA = ISA_EXTENSIONS.indexOf("ssaia");
    public static final int ISA_EXT_SMSTATEEN = ISA_EXTENSIONS.indexOf("smstateen");

    public static boolean isSingleLetter(String extension) {
        return extension.length() == 1;
    }

    // The AIA device (KVM_CREATE_DEVICE).
    /** KVM_DEV_TYPE_RISCV_AIA (enum kvm_device_type). */
    public static final int DEV_TYPE_RISCV_AIA = 11;
    public static final int AIA_GRP_CONFIG = 0;
    public static final int AIA_CONFIG_MODE = 0;
    public static final int AIA_CONFIG_IDS = 1;
    public static final int AIA_CONFIG_SRCS = 2;
    public static final int AIA_CONFIG_GROUP_BITS = 3;
    public static final int AIA_CONFIG_GROUP_SHIFT = 4;
    public static final int AIA_CONFIG_HART_BITS = 5;
    public static final int AIA_CONFIG_GUEST_BITS = 6;
    public static final int AIA_MODE_EMUL = 0;
    public static final int AIA_MODE_HWACCEL = 1;
    public static final int AIA_MODE_AUTO = 2;
    public static final int AIA_IDS_MIN = 63;
    public static final int AIA_IDS_MAX = 2048;
    public static final int AIA_SRCS_MAX = 1024;
    public static final int AIA_HART_BITS_MAX = 16;
    public static final int AIA_GRP_ADDR = 1;
    public static final int AIA_ADDR_APLIC = 0;
    public static final int AIA_GRP_CTRL = 2;
    public static final int AIA_CTRL_INIT = 0;
    /** KVM_DEV_RISCV_AIA_GRP_APLIC: a 32-bit APLIC register at attr's offset (domaincfg, sourcecfg, setip...). */
    public static final int AIA_GRP_APLIC = 3;
    /** KVM_DEV_RISCV_AIA_GRP_IMSIC: an IMSIC register (an unsigned long): attr = vCPU << 12 | iselect. */
    public static final int AIA_GRP_IMSIC = 4;
    public static final int AIA_IMSIC_ISEL_BITS = 12;

    /** KVM_DEV_RISCV_AIA_IMSIC_MKATTR(vcpu, isel). */
    public static long imsicAttr(int vcpu, int isel) {
        return ((long) vcpu << AIA_IMSIC_ISEL_BITS) | (isel & ((1 << AIA_IMSIC_ISEL_BITS) - 1));
    }

    // IMSIC interrupt-file registers by iselect (the AIA specification): EIP/EIE come in 64-bit pairs on RV64.
    public static final int IMSIC_EIDELIVERY = 0x70;
    public static final int IMSIC_EITHRESHOLD = 0x72;
    public static final int IMSIC_EIP0 = 0x80;
    public static final int IMSIC_EIE0 = 0xc0;
    // APLIC register offsets (the AIA specification's domain layout).
    public static final int APLIC_DOMAINCFG = 0x0000;
    /** sourcecfg[1] (source 0 does not exist). */
    public static final int APLIC_SOURCECFG_BASE = 0x0004;
    public static final int APLIC_SETIP_BASE = 0x1c00;
    public static final int APLIC_CLRIP_BASE = 0x1d00;
    public static final int APLIC_SETIE_BASE = 0x1e00;
    public static final int APLIC_CLRIE_BASE = 0x1f00;
    /** target[1]. */
    public static final int APLIC_TARGET_BASE = 0x3004;
    /** KVM_DEV_RISCV_APLIC_SIZE / KVM_DEV_RISCV_APLIC_ALIGN. */
    public static final long APLIC_SIZE = 0x4000;
    public static final long APLIC_ALIGN = 0x1000;
    /** KVM_DEV_RISCV_IMSIC_SIZE / KVM_DEV_RISCV_IMSIC_ALIGN: one 4 KiB interrupt file per hart. */
    public static final long IMSIC_SIZE = 0x1000;
    public static final long IMSIC_ALIGN = 0x1000;

    /** KVM_DEV_RISCV_AIA_ADDR_IMSIC(vcpu). */
    public static int aiaAddrImsic(int vcpu) {
        return 1 + vcpu;
    }

    /** KVM_MP_STATE_STOPPED: a hart that waits for an SBI HSM HART_START. */
    public static final int MP_STATE_STOPPED = 5;
    /** KVM_MP_STATE_RUNNABLE. */
    public static final int MP_STATE_RUNNABLE = 0;

    /** satp.MODE values (CONFIG satp_mode holds the mode KVM's guests may use). */
    public static String mmuType(long satpMode) {
        return switch ((int) satpMode) {
            case 8 -> "riscv,sv39";
            case 9 -> "riscv,sv48";
            case 10 -> "riscv,sv57";
            default -> null;
        };
    }
}
