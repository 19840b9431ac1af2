package dev.mesovirt.arch.x86_64;

import static dev.mesovirt.vmm.kvm.KvmIoctls.KVMIO;
import static dev.mesovirt.vmm.sys.Ioctls.io;
import static dev.mesovirt.vmm.sys.Ioctls.ior;
import static dev.mesovirt.vmm.sys.Ioctls.iow;
import static dev.mesovirt.vmm.sys.Ioctls.iowr;

/** x86-only KVM ioctls and the sizes of their structures (asm/kvm.h). */
public final class X86Ioctls {
    /** struct kvm_regs: 18 u64 (rax..r15, rip, rflags). */
    public static final int REGS_SIZE = 144;
    /** struct kvm_sregs: 8 segments, gdt, idt, control registers, efer, apic_base, interrupt bitmap. */
    public static final int SREGS_SIZE = 312;
    /** struct kvm_fpu. */
    public static final int FPU_SIZE = 416;
    /** struct kvm_lapic_state: the APIC register page. */
    public static final int LAPIC_SIZE = 1024;
    /** struct kvm_pit_config: flags u32, pad[15] u32. */
    public static final int PIT_CONFIG_SIZE = 64;
    /** struct kvm_msrs header: nmsrs u32, pad u32. */
    public static final int MSRS_HEADER_SIZE = 8;
    /** struct kvm_msr_entry: index u32, reserved u32, data u64. */
    public static final int MSR_ENTRY_SIZE = 16;
    /** struct kvm_cpuid2 header: nent u32, padding u32. */
    public static final int CPUID2_HEADER_SIZE = 8;
    /** struct kvm_cpuid_entry2: function, index, flags, eax, ebx, ecx, edx, padding[3] (all u32). */
    public static final int CPUID_ENTRY2_SIZE = 40;

    /** struct kvm_clock_data: clock u64, flags u32, pad0 u32, realtime u64, host_tsc u64, pad[4] u32. */
    public static final int CLOCK_DATA_SIZE = 48;

    public static final long GET_SUPPORTED_CPUID = iowr(KVMIO, 0x05, CPUID2_HEADER_SIZE);
    public static final long SET_TSS_ADDR = io(KVMIO, 0x47);
    public static final long SET_IDENTITY_MAP_ADDR = iow(KVMIO, 0x48, 8);
    public static final long CREATE_IRQCHIP = io(KVMIO, 0x60);
    public static final long CREATE_PIT2 = iow(KVMIO, 0x77, PIT_CONFIG_SIZE);
    public static final long GET_REGS = ior(KVMIO, 0x81, REGS_SIZE);
    public static final long SET_REGS = iow(KVMIO, 0x82, REGS_SIZE);
    public static final long GET_SREGS = ior(KVMIO, 0x83, SREGS_SIZE);
    public static final long SET_SREGS = iow(KVMIO, 0x84, SREGS_SIZE);
    public static final long SET_MSRS = iow(KVMIO, 0x89, MSRS_HEADER_SIZE);
    public static final long GET_MSRS = iowr(KVMIO, 0x88, MSRS_HEADER_SIZE);
    public static final long SET_FPU = iow(KVMIO, 0x8d, FPU_SIZE);
    public static final long GET_LAPIC = ior(KVMIO, 0x8e, LAPIC_SIZE);
    public static final long SET_LAPIC = iow(KVMIO, 0x8f, LAPIC_SIZE);
    public static final long SET_CPUID2 = iow(KVMIO, 0x90, CPUID2_HEADER_SIZE);
    public static final long SET_CLOCK = iow(KVMIO, 0x7b, CLOCK_DATA_SIZE);
    public static final long GET_CLOCK = ior(KVMIO, 0x7c, CLOCK_DATA_SIZE);

    private X86Ioctls() {}
}
