package dev.mesovirt.vmm.virtio;

/** The driver broke the virtio contract (a malformed queue or descriptor chain): the device needs a reset. */
public final class VirtioException extends Exception {
    public VirtioException(String message) {
        super(message, null, false, false);
    }
}
