package dev.mesovirt.arch.x86_64.boot;

/**
 * The kernel (its {@code init_size} footprint) or the initrd does not fit the guest RAM below the 32-bit hole,
 * e.g. "kernel needs 68 MiB of RAM but the guest has only 64 MiB".
 */
public final class KernelPlacementException extends BootProtocolException {

    private static final long serialVersionUID = 1L;

    public KernelPlacementException(String message) {
        super(message);
    }
}
