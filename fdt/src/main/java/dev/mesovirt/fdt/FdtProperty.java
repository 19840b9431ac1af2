package dev.mesovirt.fdt;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A property of a parsed device tree node: a name and an uninterpreted byte value. The typed
 * accessors interpret the value and throw {@link FdtFormatException} if it does not have the
 * requested shape. Instances are immutable (the value is copied in and out).
 *
 * @param name the property name
 * @param value the raw value (a copy is returned)
 */
public record FdtProperty(String name, byte[] value) {

    public FdtProperty {
        Objects.requireNonNull(name, "name");
        value = Objects.requireNonNull(value, "value").clone();
    }

    /** A copy of the raw value. */
    @Override
    public byte[] value() {
        return value.clone();
    }

    /** Length of the value in bytes. */
    public int length() {
        return value.length;
    }

    /** Whether the value is empty (a boolean flag property). */
    public boolean isEmpty() {
        return value.length == 0;
    }

    /** The value as one big-endian u32; it must be exactly 4 bytes. */
    public int asU32() {
        requireLength(4, "a u32");
        return ByteBuffer.wrap(value).getInt();
    }

    /** The value as one big-endian u64; it must be exactly 8 bytes. */
    public long asU64() {
        requireLength(8, "a u64");
        return ByteBuffer.wrap(value).getLong();
    }

    /** The value as big-endian u32 cells; its length must be a multiple of 4. */
    public int[] asU32Array() {
        if (value.length % 4 != 0) {
            throw new FdtFormatException("property \"" + name + "\" is not a list of u32 cells: " + value.length
                    + " bytes is not a multiple of 4");
        }
        int[] cells = new int[value.length / 4];
        ByteBuffer.wrap(value).asIntBuffer().get(cells);
        return cells;
    }

    /** The value as big-endian u64 values; its length must be a multiple of 8. */
    public long[] asU64Array() {
        if (value.length % 8 != 0) {
            throw new FdtFormatException("property \"" + name + "\" is not a list of u64 values: " + value.length
                    + " bytes is not a multiple of 8");
        }
        long[] values = new long[value.length / 8];
        ByteBuffer.wrap(value).asLongBuffer().get(values);
        return values;
    }

    /** The value as one NUL-terminated UTF-8 string without embedded NUL. */
    public String asString() {
        if (value.length == 0 || value[value.length - 1] != 0) {
            throw new FdtFormatException("property \"" + name + "\" is not a string: not NUL-terminated");
        }
        for (int i = 0; i < value.length - 1; i++) {
            if (value[i] == 0) {
                throw new FdtFormatException("property \"" + name + "\" is not a single string: NUL at index " + i
                        + " (use asStringList)");
            }
        }
        return decode(0, value.length - 1);
    }

    /**
     * The value as a list of NUL-terminated UTF-8 strings (e.g. {@code compatible}). An empty value
     * gives an empty list.
     */
    public List<String> asStringList() {
        if (value.length > 0 && value[value.length - 1] != 0) {
            throw new FdtFormatException("property \"" + name + "\" is not a string list: not NUL-terminated");
        }
        List<String> strings = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < value.length; i++) {
            if (value[i] == 0) {
                strings.add(decode(start, i));
                start = i + 1;
            }
        }
        return List.copyOf(strings);
    }

    private void requireLength(int expected, String what) {
        if (value.length != expected) {
            throw new FdtFormatException("property \"" + name + "\" is not " + what + ": it has " + value.length
                    + " bytes, expected " + expected);
        }
    }

    private String decode(int from, int to) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(value, from, to - from))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new FdtFormatException("property \"" + name + "\" is not valid UTF-8 text");
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof FdtProperty that && name.equals(that.name) && Arrays.equals(value, that.value);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
        return name + " = [" + HexFormat.ofDelimiter(" ").formatHex(value) + "]";
    }
}
