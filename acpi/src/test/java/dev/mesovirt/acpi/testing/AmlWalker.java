package dev.mesovirt.acpi.testing;

import dev.mesovirt.acpi.Aml;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Independent, test-only AML reader for the subset our DSDT uses. It re-derives every length from
 * the bytes and fails on anything inconsistent (a PkgLength that overruns its parent, a Package
 * whose element count differs from NumElements, a resource template without its End Tag...), so
 * it checks the encoder without trusting it and without iasl.
 */
public final class AmlWalker {

    /** A named object found in the namespace, e.g. {@code \_SB_.VR00._CRS}, with its value kind. */
    public record Named(String path, String kind) {
    }

    /** A name inside a package, e.g. a _PRT entry's link device, as written (not resolved). */
    public record Reference(String name) {
    }

    public static final class AmlFormatException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        AmlFormatException(String message) {
            super(message);
        }
    }

    private final byte[] b;
    private final List<Named> names = new ArrayList<>();
    private final Map<String, Object> values = new LinkedHashMap<>();
    private int resourceTemplates;

    private AmlWalker(byte[] b) {
        this.b = b;
    }

    /** Walks a whole definition block (header included) and returns the objects it defines. */
    public static List<Named> walkTable(byte[] table) {
        AmlWalker w = new AmlWalker(table);
        if (ImageReader.u32(table, 4) != table.length) {
            throw new AmlFormatException("header length " + ImageReader.u32(table, 4) + " != " + table.length);
        }
        w.termList(36, table.length, "\\");
        return w.names;
    }

    /**
     * The data objects that Name() binds in a whole definition block, by path, decoded: {@link Long} for integers,
     * {@link String}, {@code byte[]} for a buffer's bytes, {@code List<Object>} for a package's elements,
     * {@link Reference} for a name inside a package.
     */
    public static Map<String, Object> values(byte[] table) {
        AmlWalker w = new AmlWalker(table);
        w.termList(36, table.length, "\\");
        return w.values;
    }

    public static int resourceTemplateCount(byte[] table) {
        AmlWalker w = new AmlWalker(table);
        w.termList(36, table.length, "\\");
        return w.resourceTemplates;
    }

    /** Decoded PkgLength: its value and how many bytes encode it. */
    public record PkgLength(int value, int size) {
    }

    public static PkgLength decodePkgLength(byte[] b, int at) {
        int lead = b[at] & 0xFF;
        int follow = lead >>> 6;
        if (follow == 0) {
            return new PkgLength(lead & 0x3F, 1);
        }
        if ((lead & 0x30) != 0) {
            throw new AmlFormatException("PkgLength lead byte has reserved bits set: 0x" + Integer.toHexString(lead));
        }
        int value = lead & 0x0F;
        for (int i = 1; i <= follow; i++) {
            value |= (b[at + i] & 0xFF) << (4 + 8 * (i - 1));
        }
        return new PkgLength(value, 1 + follow);
    }

    /** Reads a PkgLength at {@code at} and returns the end offset of the package it measures. */
    private int pkgEnd(int at, int parentEnd) {
        PkgLength p = decodePkgLength(b, at);
        if (p.size() > 1 && p.value() <= (p.size() == 2 ? 0x3F : p.size() == 3 ? 0xFFF : 0xFFFFF)) {
            throw new AmlFormatException("non-minimal PkgLength at " + at);
        }
        int end = at + p.value();
        if (p.value() < p.size() || end > parentEnd) {
            throw new AmlFormatException("PkgLength at " + at + " (" + p.value() + ") overruns its parent ending at "
                    + parentEnd);
        }
        return end;
    }

    private void termList(int pos, int end, String scope) {
        while (pos < end) {
            pos = term(pos, end, scope);
        }
        if (pos != end) {
            throw new AmlFormatException("term list overran its end: " + pos + " > " + end);
        }
    }

    private int term(int pos, int end, String scope) {
        int op = b[pos] & 0xFF;
        switch (op) {
            case Aml.NAME_OP -> {
                String[] name = new String[1];
                int at = nameString(pos + 1, name);
                String path = join(scope, name[0]);
                String[] kind = new String[1];
                int next = dataObject(at, end, path, kind);
                names.add(new Named(path, kind[0]));
                values.put(path, value(at));
                return next;
            }
            case Aml.SCOPE_OP, Aml.METHOD_OP -> {
                int pkgEnd = pkgEnd(pos + 1, end);
                String[] name = new String[1];
                int at = nameString(pos + 1 + decodePkgLength(b, pos + 1).size(), name);
                String path = join(scope, name[0]);
                if (op == Aml.SCOPE_OP) {
                    termList(at, pkgEnd, path);
                } else {
                    names.add(new Named(path, "Method"));
                    // Method bodies are not interpreted here; only their extent is checked.
                }
                return pkgEnd;
            }
            case Aml.EXT_OP_PREFIX -> {
                int ext = b[pos + 1] & 0xFF;
                if (ext == Aml.OP_REGION_OP) {
                    return operationRegion(pos + 2, end, scope);
                }
                if (ext == Aml.FIELD_OP) {
                    return field(pos + 2, end, scope);
                }
                if (ext != Aml.DEVICE_OP) {
                    throw new AmlFormatException("unexpected extended opcode 0x" + Integer.toHexString(ext));
                }
                int pkgEnd = pkgEnd(pos + 2, end);
                String[] name = new String[1];
                int at = nameString(pos + 2 + decodePkgLength(b, pos + 2).size(), name);
                String path = join(scope, name[0]);
                names.add(new Named(path, "Device"));
                termList(at, pkgEnd, path);
                return pkgEnd;
            }
            default -> throw new AmlFormatException("unexpected opcode 0x" + Integer.toHexString(op) + " at " + pos);
        }
    }

    /** DefOpRegion after its opcode: NameString, RegionSpace byte, integer offset and length. */
    private int operationRegion(int pos, int end, String scope) {
        String[] name = new String[1];
        int at = nameString(pos, name);
        int space = b[at++] & 0xFF;
        if (space > 0x0A && space < 0x80) {
            throw new AmlFormatException("reserved region space 0x" + Integer.toHexString(space) + " at " + at);
        }
        integerValue(at);
        at = dataObject(at, end, name[0], new String[1]);
        if (integerValue(at) <= 0) {
            throw new AmlFormatException("empty operation region " + name[0]);
        }
        at = dataObject(at, end, name[0], new String[1]);
        names.add(new Named(join(scope, name[0]), "OperationRegion"));
        return at;
    }

    /** DefField after its opcode: PkgLength, region NameString, flags, then named fields tiling the package. */
    private int field(int pos, int end, String scope) {
        int pkgEnd = pkgEnd(pos, end);
        String[] region = new String[1];
        int at = nameString(pos + decodePkgLength(b, pos).size(), region);
        if (!names.contains(new Named(join(scope, region[0]), "OperationRegion"))) {
            throw new AmlFormatException("field of an undeclared region " + region[0]);
        }
        int flags = b[at++] & 0xFF;
        if ((flags & 0x0F) > 5 || (flags >>> 5) > 2 || (flags & 0x80) != 0) {
            throw new AmlFormatException("reserved field flags 0x" + Integer.toHexString(flags));
        }
        while (at < pkgEnd) {
            String[] unit = new String[1];
            int next = nameString(at, unit);
            if (next != at + 4) {
                throw new AmlFormatException("a named field is one NameSeg, at " + at);
            }
            PkgLength bits = decodePkgLength(b, next);
            if (bits.value() == 0) {
                throw new AmlFormatException("zero-width field " + unit[0]);
            }
            names.add(new Named(join(scope, unit[0]), "Field"));
            at = next + bits.size();
        }
        if (at != pkgEnd) {
            throw new AmlFormatException("field list overran its package: " + at + " > " + pkgEnd);
        }
        return pkgEnd;
    }

    private int dataObject(int pos, int end, String path, String[] kind) {
        int op = b[pos] & 0xFF;
        if (path.endsWith("]") && isNameStart(op)) {
            // Inside a package a NameString is an object reference (AML grammar: PackageElement).
            kind[0] = "Reference";
            int next = nameString(pos, new String[1]);
            if (next > end) {
                throw new AmlFormatException("reference at " + pos + " overruns its package");
            }
            return next;
        }
        int next = switch (op) {
            case Aml.ZERO_OP, Aml.ONE_OP, Aml.ONES_OP -> pos + 1;
            case Aml.BYTE_PREFIX -> pos + 2;
            case Aml.WORD_PREFIX -> pos + 3;
            case Aml.DWORD_PREFIX -> pos + 5;
            case Aml.QWORD_PREFIX -> pos + 9;
            case Aml.STRING_PREFIX -> {
                int at = pos + 1;
                while (at < end && b[at] != 0) {
                    at++;
                }
                if (at >= end) {
                    throw new AmlFormatException("unterminated string at " + pos);
                }
                kind[0] = "String";
                yield at + 1;
            }
            case Aml.PACKAGE_OP -> {
                int pkgEnd = pkgEnd(pos + 1, end);
                int at = pos + 1 + decodePkgLength(b, pos + 1).size();
                int count = b[at++] & 0xFF;
                int seen = 0;
                while (at < pkgEnd) {
                    at = dataObject(at, pkgEnd, path + "[" + seen + "]", new String[1]);
                    seen++;
                }
                if (seen != count || at != pkgEnd) {
                    throw new AmlFormatException("package " + path + " declares " + count + " elements, holds " + seen);
                }
                kind[0] = "Package";
                yield pkgEnd;
            }
            case Aml.BUFFER_OP -> {
                int pkgEnd = pkgEnd(pos + 1, end);
                int at = pos + 1 + decodePkgLength(b, pos + 1).size();
                long size = integerValue(at);
                at = dataObject(at, pkgEnd, path, new String[1]);
                if (size != pkgEnd - at) {
                    throw new AmlFormatException("buffer " + path + " declares " + size + " bytes, holds " + (pkgEnd - at));
                }
                if (path.endsWith("._CRS")) {
                    resourceTemplate(at, pkgEnd, path);
                    resourceTemplates++;
                }
                kind[0] = "Buffer";
                yield pkgEnd;
            }
            default -> throw new AmlFormatException("unexpected data opcode 0x" + Integer.toHexString(op) + " at " + pos);
        };
        if (kind[0] == null) {
            kind[0] = "Integer";
        }
        if (next > end) {
            throw new AmlFormatException("data object at " + pos + " overruns its parent");
        }
        return next;
    }

    private static boolean isNameStart(int op) {
        return (op >= 'A' && op <= 'Z') || op == '_' || op == Aml.ROOT_CHAR || op == Aml.PARENT_PREFIX
                || op == Aml.DUAL_NAME_PREFIX || op == Aml.MULTI_NAME_PREFIX;
    }

    /** Decodes the data object at {@code pos}, already checked by {@link #dataObject}. */
    private Object value(int pos) {
        int op = b[pos] & 0xFF;
        if (isNameStart(op)) {
            String[] name = new String[1];
            nameString(pos, name);
            return new Reference(name[0]);
        }
        return switch (op) {
            case Aml.STRING_PREFIX -> {
                int at = pos + 1;
                while (b[at] != 0) {
                    at++;
                }
                yield ImageReader.ascii(b, pos + 1, at - pos - 1);
            }
            case Aml.PACKAGE_OP -> {
                int pkgEnd = pos + 1 + decodePkgLength(b, pos + 1).value();
                int at = pos + 1 + decodePkgLength(b, pos + 1).size() + 1;
                List<Object> elements = new ArrayList<>();
                while (at < pkgEnd) {
                    elements.add(value(at));
                    at = dataObject(at, pkgEnd, "[element]", new String[1]);
                }
                yield elements;
            }
            case Aml.BUFFER_OP -> {
                int pkgEnd = pos + 1 + decodePkgLength(b, pos + 1).value();
                int at = dataObject(pos + 1 + decodePkgLength(b, pos + 1).size(), pkgEnd, "size", new String[1]);
                yield java.util.Arrays.copyOfRange(b, at, pkgEnd);
            }
            default -> integerValue(pos);
        };
    }

    private long integerValue(int pos) {
        int op = b[pos] & 0xFF;
        return switch (op) {
            case Aml.ZERO_OP -> 0;
            case Aml.ONE_OP -> 1;
            case Aml.ONES_OP -> -1;
            case Aml.BYTE_PREFIX -> ImageReader.u8(b, pos + 1);
            case Aml.WORD_PREFIX -> ImageReader.u16(b, pos + 1);
            case Aml.DWORD_PREFIX -> ImageReader.u32(b, pos + 1);
            case Aml.QWORD_PREFIX -> ImageReader.u64(b, pos + 1);
            default -> throw new AmlFormatException("expected an integer at " + pos);
        };
    }

    /** Small and large resource descriptors must tile the buffer exactly, ending with an End Tag. */
    private void resourceTemplate(int pos, int end, String path) {
        while (pos < end) {
            int tag = b[pos] & 0xFF;
            if ((tag & 0x80) == 0) {
                int length = tag & 0x07;
                if ((tag >>> 3) == 0x0F) { // End Tag
                    if (length != 1 || pos + 2 != end) {
                        throw new AmlFormatException(path + ": End Tag is not the last 2 bytes");
                    }
                    return;
                }
                pos += 1 + length;
            } else {
                pos += 3 + ImageReader.u16(b, pos + 1);
            }
        }
        throw new AmlFormatException(path + ": resource template lacks an End Tag");
    }

    private int nameString(int pos, String[] out) {
        StringBuilder sb = new StringBuilder();
        int at = pos;
        if (b[at] == Aml.ROOT_CHAR) {
            sb.append('\\');
            at++;
        }
        while (b[at] == Aml.PARENT_PREFIX) {
            sb.append('^');
            at++;
        }
        int segments;
        if (b[at] == Aml.DUAL_NAME_PREFIX) {
            segments = 2;
            at++;
        } else if (b[at] == Aml.MULTI_NAME_PREFIX) {
            segments = b[at + 1] & 0xFF;
            at += 2;
        } else if (b[at] == Aml.NULL_NAME) {
            segments = 0;
            at++;
        } else {
            segments = 1;
        }
        for (int i = 0; i < segments; i++) {
            String seg = ImageReader.ascii(b, at, 4);
            if (!seg.matches("[A-Z_][A-Z0-9_]{3}")) {
                throw new AmlFormatException("bad name segment \"" + seg + "\" at " + at);
            }
            sb.append(i > 0 ? "." : "").append(seg);
            at += 4;
        }
        out[0] = sb.toString();
        return at;
    }

    private static String join(String scope, String name) {
        if (name.startsWith("\\")) {
            return name;
        }
        return scope.equals("\\") ? "\\" + name : scope + "." + name;
    }
}
