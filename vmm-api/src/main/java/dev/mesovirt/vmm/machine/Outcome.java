package dev.mesovirt.vmm.machine;

/** How a machine's run ended. The first outcome reported wins; the process exit code follows from it. */
public sealed interface Outcome {
    /** Exit code for a guest kernel panic, so scripts can tell it from a VMM error (1). */
    int PANIC_EXIT_CODE = 3;

    int exitCode();

    /** The guest powered off (ACPI S5, PSCI SYSTEM_OFF, SBI SRST shutdown). */
    record PoweredOff() implements Outcome {
        public int exitCode() {
            return 0;
        }
    }

    /** The guest rebooted; like StratoVirt's microvm, a reboot stops the VM. */
    record Rebooted() implements Outcome {
        public int exitCode() {
            return 0;
        }
    }

    /** Every vCPU halted with nothing left to wake it. */
    record Halted() implements Outcome {
        public int exitCode() {
            return 0;
        }
    }

    /** The user asked the VMM to quit (Ctrl-A x, a signal, QMP quit). */
    record Quit(String reason) implements Outcome {
        public int exitCode() {
            return 0;
        }
    }

    /** The guest reported a kernel panic (pvpanic, PSCI/SBI crash event). */
    record Panicked(String detail) implements Outcome {
        public int exitCode() {
            return PANIC_EXIT_CODE;
        }
    }

    /**
     * An x86 vCPU shut down (KVM_EXIT_SHUTDOWN: a triple fault, which is also Linux's last resort when a reset it
     * asked for has not happened). On real hardware it resets the machine, and a firmware machine does that (as QEMU's
     * q35); a machine whose kernel the VMM loads ends here: its guest crashed.
     */
    record TripleFault(int vcpu) implements Outcome {
        public int exitCode() {
            return 1;
        }

        public String message() {
            return "vCPU " + vcpu + ": KVM_EXIT_SHUTDOWN (triple fault): the guest crashed";
        }
    }

    /** KVM or the VMM failed: an internal error, a failed entry... */
    record Failed(String message) implements Outcome {
        public int exitCode() {
            return 1;
        }
    }
}
