package dev.mesovirt.arch.x86_64;

/** One struct kvm_cpuid_entry2. */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
    /** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the entry applies to one sub-leaf only. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public CpuidEntry withRegisters(int a, int b, int c, int d) {
        return new CpuidEntry(function, index, flags, a, b, c, d);
    }
}
