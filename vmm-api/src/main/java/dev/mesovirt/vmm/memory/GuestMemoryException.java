package dev.mesovirt.vmm.memory;

/** An access to guest-physical addresses that no guest RAM backs. Never a JVM crash: always this exception. */
public final class GuestMemoryException extends RuntimeException {
    public GuestMemoryException(String message) {
        super(message);
    }
}
