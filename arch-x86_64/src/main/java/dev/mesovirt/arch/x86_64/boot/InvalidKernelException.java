package dev.mesovirt.arch.x86_64.boot;

/**
 * The file given as the kernel is not a bzImage this VMM can boot through the 64-bit boot protocol.
 *
 * <p>{@link BzImage#parse(byte[])} reports every defect of an image with this exception and nothing else
 * (never an index or buffer exception). The message names what is wrong, e.g.
 * "not a bzImage: missing HdrS magic at 0x202".
 */
public final class InvalidKernelException extends BootProtocolException {

    private static final long serialVersionUID = 1L;

    public InvalidKernelException(String message) {
        super(message);
    }
}
