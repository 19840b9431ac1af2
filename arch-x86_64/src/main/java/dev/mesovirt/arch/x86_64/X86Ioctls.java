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

    /** struct kvm_xsave: region[1024] u32 (KVM_GET_XSAVE2 may need more: KVM_CAP_XSAVE2's answer). */
    public static final int XSAVE_SIZE = 4096;
    /** struct kvm_xcrs: nr_xcrs, flags, xcrs[16] of {xcr u32, reserved u32, value u64}, padding[16] u64. */
    public static final int XCRS_SIZE = 392;
    /** struct kvm_debugregs: db[4], dr6, dr7, flags, reserved[9] (u64). */
    public static final int DEBUGREGS_SIZE = 128;
    /** struct kvm_vcpu_events. */
    public static final int VCPU_EVENTS_SIZE = 64;
    /** struct kvm_mp_state: mp_state u32. */
    public static final int MP_STATE_SIZE = 4;
    /** struct kvm_irqchip: chip_id u32, pad u32, a 512-byte union (PIC or IOAPIC state). */
    public static final int IRQCHIP_SIZE = 520;
    /** struct kvm_pit_state2: channels[3] (24 bytes each), flags u32, reserved[9] u32. */
    public static final int PIT_STATE2_SIZE = 112;
    /** struct kvm_msr_list header: nmsrs u32 (the indices follow). */
    public static final int MSR_LIST_HEADER_SIZE = 4;

    public static final long GET_MSR_INDEX_LIST = iowr(KVMIO, 0x02, MSR_LIST_HEADER_SIZE);
    public static final long GET_IRQCHIP = iowr(KVMIO, 0x62, IRQCHIP_SIZE);
    public static final long SET_IRQCHIP = ior(KVMIO, 0x63, IRQCHIP_SIZE);
    public static final long GET_PIT2 = ior(KVMIO, 0x9f, PIT_STATE2_SIZE);
    public static final long SET_PIT2 = iow(KVMIO, 0xa0, PIT_STATE2_SIZE);
    public static final long GET_MP_STATE = ior(KVMIO, 0x98, MP_STATE_SIZE);
    public static final long SET_MP_STATE = iow(KVMIO, 0x99, MP_STATE_SIZE);
    public static final long GET_VCPU_EVENTS = ior(KVMIO, 0x9f, VCPU_EVENTS_SIZE);
    public static final long SET_VCPU_EVENTS = iow(KVMIO, 0xa0, VCPU_EVENTS_SIZE);
    public static final long GET_DEBUGREGS = ior(KVMIO, 0xa1, DEBUGREGS_SIZE);
    public static final long SET_DEBUGREGS = iow(KVMIO, 0xa2, DEBUGREGS_SIZE);
    public static final long SET_TSC_KHZ = io(KVMIO, 0xa2);
    public static final long GET_TSC_KHZ = io(KVMIO, 0xa3);
    public static final long GET_XSAVE = ior(KVMIO, 0xa4, XSAVE_SIZE);
    public static final long SET_XSAVE = iow(KVMIO, 0xa5, XSAVE_SIZE);
    public static final long GET_XCRS = ior(KVMIO, 0xa6, XCRS_SIZE);
    public static final long SET_XCRS = iow(KVMIO, 0xa7, XCRS_SIZE);
    public static final long GET_XSAVE2 = ior(KVMIO, 0xcf, XSAVE_SIZE);
    public static final long GET_FPU = ior(KVMIO, 0x8c, FPU_SIZE);

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
