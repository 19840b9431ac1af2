package dev.mesovirt.vmm.kvm;

/** Why {@code KVM_RUN} returned, decoded from {@code struct kvm_run}. */
public sealed interface VcpuExit {
    int KVM_EXIT_UNKNOWN = 0;
    int KVM_EXIT_EXCEPTION = 1;
    int KVM_EXIT_IO = 2;
    int KVM_EXIT_HYPERCALL = 3;
    int KVM_EXIT_DEBUG = 4;
    int KVM_EXIT_HLT = 5;
    int KVM_EXIT_MMIO = 6;
    int KVM_EXIT_IRQ_WINDOW_OPEN = 7;
    int KVM_EXIT_SHUTDOWN = 8;
    int KVM_EXIT_FAIL_ENTRY = 9;
    int KVM_EXIT_INTR = 10;
    int KVM_EXIT_INTERNAL_ERROR = 17;
    int KVM_EXIT_SYSTEM_EVENT = 24;

    /** Port I/O (x86 only); {@code count} > 1 for string instructions, data at {@code dataOffset} in kvm_run. */
    record Io(boolean write, int port, int size, int count, int dataOffset) implements VcpuExit {}

    /** A guest access to an address no memory slot backs; data lives in kvm_run's mmio.data. */
    record Mmio(long address, int length, boolean write) implements VcpuExit {}

    /** HLT with no in-kernel local APIC to wait on it. */
    record Halt() implements VcpuExit {}

    /** x86 triple fault (or an unrecoverable shutdown condition). */
    record Shutdown() implements VcpuExit {}

    /** A PSCI or SBI system event (type 1 shutdown, 2 reset, 3 crash, ...). */
    record SystemEvent(int type, long firstData) implements VcpuExit {
        public static final int SHUTDOWN = 1;
        public static final int RESET = 2;
        public static final int CRASH = 3;
    }

    /** KVM could not handle something (e.g. instruction emulation failure). */
    record InternalError(int suberror, long[] data) implements VcpuExit {}

    /** The hardware refused to enter the guest. */
    record FailEntry(long hardwareReason, int cpu) implements VcpuExit {}

    /** KVM_RUN returned early because a signal or immediate_exit asked it to. */
    record Interrupted() implements VcpuExit {}

    /** Any exit the VMM has no handler for, named by its number. */
    record Other(int reason) implements VcpuExit {}

    static String reasonName(int reason) {
        return switch (reason) {
            case KVM_EXIT_UNKNOWN -> "KVM_EXIT_UNKNOWN";
            case KVM_EXIT_EXCEPTION -> "KVM_EXIT_EXCEPTION";
            case KVM_EXIT_IO -> "KVM_EXIT_IO";
            case KVM_EXIT_HYPERCALL -> "KVM_EXIT_HYPERCALL";
            case KVM_EXIT_DEBUG -> "KVM_EXIT_DEBUG";
            case KVM_EXIT_HLT -> "KVM_EXIT_HLT";
            case KVM_EXIT_MMIO -> "KVM_EXIT_MMIO";
            case KVM_EXIT_IRQ_WINDOW_OPEN -> "KVM_EXIT_IRQ_WINDOW_OPEN";
            case KVM_EXIT_SHUTDOWN -> "KVM_EXIT_SHUTDOWN";
            case KVM_EXIT_FAIL_ENTRY -> "KVM_EXIT_FAIL_ENTRY";
            case KVM_EXIT_INTR -> "KVM_EXIT_INTR";
            case KVM_EXIT_INTERNAL_ERROR -> "KVM_EXIT_INTERNAL_ERROR";
            case KVM_EXIT_SYSTEM_EVENT -> "KVM_EXIT_SYSTEM_EVENT";
            default -> "exit reason " + reason;
        };
    }
}
