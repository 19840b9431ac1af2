package dev.mesovirt.fdt;

/**
 * A device tree blob, or a property value, does not have the format the caller asked for.
 *
 * <p>{@link DeviceTree#parse(byte[])} reports every defect of a blob with this exception (never an
 * index or buffer exception), and the typed accessors of {@link FdtProperty} use it when a value has
 * the wrong length or encoding.
 */
public final class FdtFormatException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final long offset;

    /** A defect at a byte offset of the blob. */
    FdtFormatException(long offset, String message) {
        super("malformed device tree blob at offset 0x" + Long.toHexString(offset) + ": " + message);
        this.offset = offset;
    }

    /** A defect not tied to a blob position (e.g. a property value of the wrong length). */
    FdtFormatException(String message) {
        super(message);
        this.offset = -1;
    }

    /** Byte offset within the blob where the defect was found, or -1 if not applicable. */
    public long offset() {
        return offset;
    }
}
