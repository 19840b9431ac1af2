package dev.mesovirt.arch.x86_64;

/** Byte offsets inside struct kvm_regs, kvm_sregs, kvm_segment and kvm_fpu (asm/kvm.h). */
final class Registers {
    private Registers() {}

    // kvm_regs: general registers in this order, 8 bytes each.
    static final int RAX = 0;
    static final int RBX = 8;
    static final int RCX = 16;
    static final int RDX = 24;
    static final int RSI = 32;
    static final int RDI = 40;
    static final int RSP = 48;
    static final int RBP = 56;
    static final int RIP = 128;
    static final int RFLAGS = 136;

    // kvm_sregs: segments of 24 bytes, then two 16-byte descriptor tables, then control registers.
    static final int SEGMENT_SIZE = 24;
    static final int CS = 0;
    static final int DS = 24;
    static final int ES = 48;
    static final int FS = 72;
    static final int GS = 96;
    static final int SS = 120;
    static final int TR = 144;
    static final int LDT = 168;
    static final int GDT = 192;
    static final int IDT = 208;
    static final int CR0 = 224;
    static final int CR2 = 232;
    static final int CR3 = 240;
    static final int CR4 = 248;
    static final int CR8 = 256;
    static final int EFER = 264;
    static final int APIC_BASE = 272;

    // kvm_segment fields.
    static final int SEG_BASE = 0;
    static final int SEG_LIMIT = 8;
    static final int SEG_SELECTOR = 12;
    static final int SEG_TYPE = 14;
    static final int SEG_PRESENT = 15;
    static final int SEG_DPL = 16;
    static final int SEG_DB = 17;
    static final int SEG_S = 18;
    static final int SEG_L = 19;
    static final int SEG_G = 20;
    static final int SEG_AVL = 21;
    static final int SEG_UNUSABLE = 22;

    // kvm_dtable: base u64, limit u16.
    static final int DTABLE_BASE = 0;
    static final int DTABLE_LIMIT = 8;

    // kvm_fpu.
    static final int FPU_FCW = 128;
    static final int FPU_MXCSR = 408;

    // Local APIC register page offsets.
    static final int APIC_LVT_LINT0 = 0x350;
    static final int APIC_LVT_LINT1 = 0x360;
}
