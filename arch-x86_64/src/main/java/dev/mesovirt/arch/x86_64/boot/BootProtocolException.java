package dev.mesovirt.arch.x86_64.boot;

/**
 * A kernel cannot be booted with the Linux x86 boot protocol: the image is not a usable bzImage
 * ({@link InvalidKernelException}) or it does not fit the guest's memory ({@link KernelPlacementException}).
 * The message is meant for the user as it stands.
 */
public class BootProtocolException extends Exception {

    private static final long serialVersionUID = 1L;

    public BootProtocolException(String message) {
        super(message);
    }
}
