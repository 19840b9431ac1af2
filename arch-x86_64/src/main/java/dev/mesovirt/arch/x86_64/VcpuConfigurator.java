package dev.mesovirt.arch.x86_64;

import com.sun.jna.Memory;
import dev.mesovirt.arch.x86_64.boot.LongModeSetup;
import dev.mesovirt.arch.x86_64.boot.Segment;
import dev.mesovirt.vmm.kvm.Vcpu;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts an x86 vCPU into its boot state: CPUID and MSRs on every vCPU, local APIC LINT0/LINT1 wiring, and for
 * the boot vCPU the 64-bit entry state of the Linux boot protocol. Application processors keep KVM's reset state
 * (wait-for-SIPI, since the local APIC is in-kernel) until the guest starts them.
 */
final class VcpuConfigurator {
    private static final Logger LOG = LoggerFactory.getLogger(VcpuConfigurator.class);

    /** MSRs whose reset values the boot protocol wants defined (the same set Firecracker writes). */
    static final int MSR_IA32_TSC = 0x10;
    static final int MSR_IA32_SYSENTER_CS = 0x174;
    static final int MSR_IA32_SYSENTER_ESP = 0x175;
    static final int MSR_IA32_SYSENTER_EIP = 0x176;
    static final int MSR_IA32_MISC_ENABLE = 0x1a0;
    static final int MSR_MTRR_DEF_TYPE = 0x2ff;
    static final int MSR_STAR = 0xc0000081;
    static final int MSR_LSTAR = 0xc0000082;
    static final int MSR_CSTAR = 0xc0000083;
    static final int MSR_SYSCALL_MASK = 0xc0000084;
    static final int MSR_KERNEL_GS_BASE = 0xc0000102;
    /** IA32_MISC_ENABLE.FAST_STRING. */
    static final long MISC_ENABLE_FAST_STRING = 1;
    /** MTRRs enabled, default memory type write-back: RAM is cacheable before the guest programs MTRRs. */
    static final long MTRR_DEFAULT_WRITE_BACK = (1L << 11) | 6;

    private static final int APIC_DELIVERY_MODE_SHIFT = 8;
    private static final int APIC_MODE_NMI = 4;
    private static final int APIC_MODE_EXTINT = 7;

    private static final long[][] BOOT_MSRS = {
        {MSR_IA32_SYSENTER_CS, 0}, {MSR_IA32_SYSENTER_ESP, 0}, {MSR_IA32_SYSENTER_EIP, 0},
        {MSR_STAR, 0}, {MSR_CSTAR, 0}, {MSR_KERNEL_GS_BASE, 0}, {MSR_SYSCALL_MASK, 0}, {MSR_LSTAR, 0},
        {MSR_IA32_TSC, 0}, {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING}, {MSR_MTRR_DEF_TYPE, MTRR_DEFAULT_WRITE_BACK},
    };

    private VcpuConfigurator() {}

    static void configure(Vcpu vcpu, List<CpuidEntry> supportedCpuid, int count, long entry64, long zeroPage) {
        setCpuid(vcpu, supportedCpuid, count);
        setMsrs(vcpu);
        setLapicLints(vcpu);
        setFpu(vcpu);
        if (vcpu.id() == 0) {
            setBootRegisters(vcpu, entry64, zeroPage);
        }
    }

    /** The vCPU's CPUID: the same table at boot and on a restore, computed from what this host's KVM supports. */
    static void setCpuid(Vcpu vcpu, List<CpuidEntry> supportedCpuid, int count) {
        try (Memory cpuid = CpuidTable.toNative(CpuidTable.forVcpu(supportedCpuid, vcpu.id(), count))) {
            vcpu.ioctl(X86Ioctls.SET_CPUID2, cpuid, "KVM_SET_CPUID2");
        }
    }

    /**
     * A vCPU for firmware: CPUID and the FPU's reset values; registers, MSRs and the local APIC keep KVM's reset
     * state (real mode at F000:FFF0 on every vCPU, the application processors waiting for their SIPI, LINT0/LINT1
     * masked), which the firmware expects and programs itself (MTRRs, the APIC's virtual-wire mode).
     */
    static void configureForFirmware(Vcpu vcpu, List<CpuidEntry> supportedCpuid, int count) {
        setCpuid(vcpu, supportedCpuid, count);
        setFpu(vcpu);
    }

    private static void setMsrs(Vcpu vcpu) {
        try (Memory m = new Memory(X86Ioctls.MSRS_HEADER_SIZE + (long) BOOT_MSRS.length * X86Ioctls.MSR_ENTRY_SIZE)) {
            m.clear();
            m.setInt(0, BOOT_MSRS.length);
            for (int i = 0; i < BOOT_MSRS.length; i++) {
                long o = X86Ioctls.MSRS_HEADER_SIZE + (long) i * X86Ioctls.MSR_ENTRY_SIZE;
                m.setInt(o, (int) BOOT_MSRS[i][0]);
                m.setLong(o + 8, BOOT_MSRS[i][1]);
            }
            int written = vcpu.ioctl(X86Ioctls.SET_MSRS, m, "KVM_SET_MSRS");
            if (written != BOOT_MSRS.length) {
                // KVM stops at the first MSR it rejects; the rest keep their reset values, which Linux tolerates.
                LOG.warn("vCPU {}: KVM_SET_MSRS set {} of {} MSRs; MSR 0x{} was rejected", vcpu.id(), written,
                        BOOT_MSRS.length, Long.toHexString(BOOT_MSRS[written][0]));
            }
        }
    }

    /** LINT0 delivers the 8259's ExtINT, LINT1 the NMI, as a PC's BIOS leaves them. */
    private static void setLapicLints(Vcpu vcpu) {
        try (Memory lapic = new Memory(X86Ioctls.LAPIC_SIZE)) {
            vcpu.ioctl(X86Ioctls.GET_LAPIC, lapic, "KVM_GET_LAPIC");
            lapic.setInt(Registers.APIC_LVT_LINT0, withDeliveryMode(lapic.getInt(Registers.APIC_LVT_LINT0), APIC_MODE_EXTINT));
            lapic.setInt(Registers.APIC_LVT_LINT1, withDeliveryMode(lapic.getInt(Registers.APIC_LVT_LINT1), APIC_MODE_NMI));
            vcpu.ioctl(X86Ioctls.SET_LAPIC, lapic, "KVM_SET_LAPIC");
        }
    }

    static int withDeliveryMode(int lvt, int mode) {
        return (lvt & ~(0x700)) | (mode << APIC_DELIVERY_MODE_SHIFT);
    }

    /** x87 control word and MXCSR at their architectural reset values (all exceptions masked). */
    private static void setFpu(Vcpu vcpu) {
        try (Memory fpu = new Memory(X86Ioctls.FPU_SIZE)) {
            fpu.clear();
            fpu.setShort(Registers.FPU_FCW, (short) 0x37f);
            fpu.setInt(Registers.FPU_MXCSR, 0x1f80);
            vcpu.ioctl(X86Ioctls.SET_FPU, fpu, "KVM_SET_FPU");
        }
    }

    private static void setBootRegisters(Vcpu vcpu, long entry64, long zeroPage) {
        LongModeSetup.SpecialRegisters s = LongModeSetup.specialRegisters();
        try (Memory sregs = new Memory(X86Ioctls.SREGS_SIZE)) {
            // Read first so that fields we do not own (APIC base, interrupt bitmap) keep KVM's values.
            vcpu.ioctl(X86Ioctls.GET_SREGS, sregs, "KVM_GET_SREGS");
            putSegment(sregs, Registers.CS, s.cs());
            putSegment(sregs, Registers.DS, s.ds());
            putSegment(sregs, Registers.ES, s.es());
            putSegment(sregs, Registers.FS, s.fs());
            putSegment(sregs, Registers.GS, s.gs());
            putSegment(sregs, Registers.SS, s.ss());
            putSegment(sregs, Registers.TR, s.tr());
            sregs.setLong(Registers.GDT + Registers.DTABLE_BASE, s.gdtBase());
            sregs.setShort(Registers.GDT + Registers.DTABLE_LIMIT, (short) s.gdtLimit());
            sregs.setLong(Registers.IDT + Registers.DTABLE_BASE, s.idtBase());
            sregs.setShort(Registers.IDT + Registers.DTABLE_LIMIT, (short) s.idtLimit());
            sregs.setLong(Registers.CR0, s.cr0());
            sregs.setLong(Registers.CR3, s.cr3());
            sregs.setLong(Registers.CR4, s.cr4());
            sregs.setLong(Registers.EFER, s.efer());
            vcpu.ioctl(X86Ioctls.SET_SREGS, sregs, "KVM_SET_SREGS");
        }
        LongModeSetup.GeneralRegisters g = LongModeSetup.generalRegisters(entry64, zeroPage);
        try (Memory regs = new Memory(X86Ioctls.REGS_SIZE)) {
            regs.clear();
            regs.setLong(Registers.RIP, g.rip());
            regs.setLong(Registers.RSP, g.rsp());
            regs.setLong(Registers.RBP, g.rbp());
            regs.setLong(Registers.RSI, g.rsi());
            regs.setLong(Registers.RFLAGS, g.rflags());
            vcpu.ioctl(X86Ioctls.SET_REGS, regs, "KVM_SET_REGS");
        }
    }

    static void putSegment(Memory sregs, int offset, Segment seg) {
        sregs.setLong(offset + Registers.SEG_BASE, seg.base());
        sregs.setInt(offset + Registers.SEG_LIMIT, seg.limit());
        sregs.setShort(offset + Registers.SEG_SELECTOR, (short) seg.selector());
        sregs.setByte(offset + Registers.SEG_TYPE, (byte) seg.type());
        sregs.setByte(offset + Registers.SEG_PRESENT, (byte) (seg.present() ? 1 : 0));
        sregs.setByte(offset + Registers.SEG_DPL, (byte) seg.dpl());
        sregs.setByte(offset + Registers.SEG_DB, (byte) (seg.db() ? 1 : 0));
        sregs.setByte(offset + Registers.SEG_S, (byte) (seg.s() ? 1 : 0));
        sregs.setByte(offset + Registers.SEG_L, (byte) (seg.l() ? 1 : 0));
        sregs.setByte(offset + Registers.SEG_G, (byte) (seg.g() ? 1 : 0));
        sregs.setByte(offset + Registers.SEG_AVL, (byte) (seg.avl() ? 1 : 0));
        sregs.setByte(offset + Registers.SEG_UNUSABLE, (byte) (seg.unusable() ? 1 : 0));
    }
}
