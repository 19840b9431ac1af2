package dev.mesovirt.vmm.snapshot;

/** A snapshot cannot be written, read or restored; the message is one line for the user. */
public final class SnapshotException extends RuntimeException {
    public SnapshotException(String message) {
        super(message);
    }

    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
