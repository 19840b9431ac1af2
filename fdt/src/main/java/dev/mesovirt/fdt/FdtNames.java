package dev.mesovirt.fdt;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Writer-side validation of names and string values (Devicetree Specification 2.2.1, 2.2.4). */
final class FdtNames {

    static final int MAX_NAME_LENGTH = 31;

    private FdtNames() {
    }

    private static boolean isLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** Node-name and unit-address characters: {@code [0-9a-zA-Z,._+-]}. */
    static boolean isNodeNameChar(char c) {
        return isLetter(c) || isDigit(c) || c == ',' || c == '.' || c == '_' || c == '+' || c == '-';
    }

    /** Property-name characters: {@code [0-9a-zA-Z,._+?#-]}. */
    static boolean isPropertyNameChar(char c) {
        return isNodeNameChar(c) || c == '?' || c == '#';
    }

    /**
     * Checks a non-root node name: {@code node-name[@unit-address]} where node-name is 1 to 31
     * characters of {@code [0-9a-zA-Z,._+-]} starting with a letter and unit-address is one or more
     * characters of the same set.
     */
    static void checkNodeName(String name) {
        int at = name.indexOf('@');
        String base = at < 0 ? name : name.substring(0, at);
        if (base.isEmpty() || base.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("invalid node name \"" + name
                    + "\": the part before '@' must be 1 to " + MAX_NAME_LENGTH + " characters, was " + base.length());
        }
        if (!isLetter(base.charAt(0))) {
            throw new IllegalArgumentException("invalid node name \"" + name + "\": must start with a letter");
        }
        for (int i = 0; i < base.length(); i++) {
            if (!isNodeNameChar(base.charAt(i))) {
                throw new IllegalArgumentException("invalid node name \"" + name + "\": character '"
                        + base.charAt(i) + "' at index " + i + " is not one of [0-9a-zA-Z,._+-]");
            }
        }
        if (at >= 0) {
            String unit = name.substring(at + 1);
            if (unit.isEmpty()) {
                throw new IllegalArgumentException("invalid node name \"" + name + "\": empty unit address after '@'");
            }
            for (int i = 0; i < unit.length(); i++) {
                if (!isNodeNameChar(unit.charAt(i))) {
                    throw new IllegalArgumentException("invalid node name \"" + name + "\": unit-address character '"
                            + unit.charAt(i) + "' is not one of [0-9a-zA-Z,._+-]");
                }
            }
        }
    }

    /** Checks a property name: 1 to 31 characters of {@code [0-9a-zA-Z,._+?#-]}. */
    static void checkPropertyName(String name) {
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("invalid property name \"" + name + "\": must be 1 to "
                    + MAX_NAME_LENGTH + " characters, was " + name.length());
        }
        for (int i = 0; i < name.length(); i++) {
            if (!isPropertyNameChar(name.charAt(i))) {
                throw new IllegalArgumentException("invalid property name \"" + name + "\": character '"
                        + name.charAt(i) + "' at index " + i + " is not one of [0-9a-zA-Z,._+?#-]");
            }
        }
    }

    /** Encodes a string value as UTF-8 without terminator; rejects NUL and unpaired surrogates. */
    static byte[] encodeStringValue(String value) {
        int nul = value.indexOf('\0');
        if (nul >= 0) {
            throw new IllegalArgumentException("string value contains a NUL character at index " + nul);
        }
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            ByteBuffer buffer = encoder.encode(CharBuffer.wrap(value));
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("string value is not valid Unicode (unpaired surrogate)", e);
        }
    }
}
