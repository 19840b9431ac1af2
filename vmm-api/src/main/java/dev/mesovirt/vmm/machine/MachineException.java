package dev.mesovirt.vmm.machine;

/** The machine cannot be built or run as configured; the message is one line for the user. */
public final class MachineException extends RuntimeException {
    public MachineException(String message) {
        super(message);
    }

    public MachineException(String message, Throwable cause) {
        super(message, cause);
    }
}
