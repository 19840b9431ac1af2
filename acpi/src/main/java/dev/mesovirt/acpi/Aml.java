package dev.mesovirt.acpi;

import java.nio.charset.StandardCharsets;

/**
 * A minimal AML (ACPI Machine Language) encoder, enough to describe static devices in a DSDT.
 *
 * <p>Every method returns the encoded bytes of one term, so terms compose by nesting calls, e.g.
 * {@code device("COM1", name("_HID", eisaId("PNP0501")))}. Encodings follow ACPI 6.5 chapter 20
 * ("ACPI Machine Language Specification") and chapter 6.4 (resource data types). Integers are
 * encoded with the shortest form, as iasl does, so our bytes match what a compiler would emit.
 */
public final class Aml {

    // Opcodes (ACPI 6.5 section 20.3).
    public static final int ZERO_OP = 0x00;
    public static final int ONE_OP = 0x01;
    public static final int ONES_OP = 0xFF;
    public static final int BYTE_PREFIX = 0x0A;
    public static final int WORD_PREFIX = 0x0B;
    public static final int DWORD_PREFIX = 0x0C;
    public static final int STRING_PREFIX = 0x0D;
    public static final int QWORD_PREFIX = 0x0E;
    public static final int NAME_OP = 0x08;
    public static final int SCOPE_OP = 0x10;
    public static final int BUFFER_OP = 0x11;
    public static final int PACKAGE_OP = 0x12;
    public static final int METHOD_OP = 0x14;
    public static final int RETURN_OP = 0xA4;
    public static final int STORE_OP = 0x70;
    public static final int AND_OP = 0x7B;
    public static final int OR_OP = 0x7D;
    public static final int NOTIFY_OP = 0x86;
    public static final int CREATE_DWORD_FIELD_OP = 0x8A;
    public static final int LNOT_OP = 0x92;
    public static final int LEQUAL_OP = 0x93;
    public static final int IF_OP = 0xA0;
    public static final int ELSE_OP = 0xA1;
    public static final int LOCAL0_OP = 0x60; // Local0..Local7 are 0x60..0x67
    public static final int ARG0_OP = 0x68; // Arg0..Arg6 are 0x68..0x6E
    public static final int EXT_OP_PREFIX = 0x5B;
    public static final int OP_REGION_OP = 0x80; // follows EXT_OP_PREFIX
    public static final int FIELD_OP = 0x81; // follows EXT_OP_PREFIX
    public static final int DEVICE_OP = 0x82; // follows EXT_OP_PREFIX
    public static final int ROOT_CHAR = 0x5C; // '\'
    public static final int PARENT_PREFIX = 0x5E; // '^'
    public static final int DUAL_NAME_PREFIX = 0x2E;
    public static final int MULTI_NAME_PREFIX = 0x2F;
    public static final int NULL_NAME = 0x00;

    /** Largest value a PkgLength can hold: 4 bits in the lead byte plus three full bytes. */
    public static final int MAX_PKG_LENGTH = 0x0FFF_FFFF;

    /** Level- or edge-triggered, for the Extended Interrupt descriptor. */
    public enum Trigger { LEVEL, EDGE }

    /** Interrupt line polarity, for the Extended Interrupt descriptor. */
    public enum Polarity { ACTIVE_HIGH, ACTIVE_LOW }

    /** Whether another device may share the interrupt. */
    public enum Sharing { EXCLUSIVE, SHARED }

    /** The address space of an OperationRegion (ACPI 6.5 table 19.32, RegionSpace keyword). */
    public enum RegionSpace {
        SYSTEM_MEMORY(0x00), SYSTEM_IO(0x01);

        final int code;

        RegionSpace(int code) {
            this.code = code;
        }
    }

    /** How the interpreter accesses a Field's region (AccessType keyword, FieldFlags bits 0-3). */
    public enum FieldAccess {
        ANY(0), BYTE(1), WORD(2), DWORD(3), QWORD(4);

        final int code;

        FieldAccess(int code) {
            this.code = code;
        }
    }

    /** What a write does with the bits of an access wider than the field unit (UpdateRule, FieldFlags bits 5-6). */
    public enum FieldUpdate {
        PRESERVE(0), WRITE_AS_ONES(1), WRITE_AS_ZEROS(2);

        final int code;

        FieldUpdate(int code) {
            this.code = code;
        }
    }

    /** A named field unit of {@code bits} bits, laid out in order from the start of its region. */
    public record FieldUnit(String name, int bits) {
        public FieldUnit {
            nameSeg(name, name); // one NameSeg: field units are named in the enclosing scope
            if (bits < 1 || bits > MAX_PKG_LENGTH) {
                throw new IllegalArgumentException("a field unit has 1.." + MAX_PKG_LENGTH + " bits: " + bits);
            }
        }
    }

    private Aml() {
    }

    // ---------------------------------------------------------------- package length

    /**
     * Encodes the PkgLength that precedes {@code contentLength} bytes of package content. The
     * encoded value counts the PkgLength bytes themselves, so the encoding size is chosen first.
     */
    public static byte[] pkgLength(int contentLength) {
        if (contentLength < 0) {
            throw new IllegalArgumentException("content length must not be negative: " + contentLength);
        }
        for (int size = 1; size <= 4; size++) {
            long total = (long) contentLength + size;
            if (total <= maxPkgLengthFor(size)) {
                return encodePkgLength((int) total);
            }
        }
        throw new IllegalArgumentException(
                "AML package too large: " + contentLength + " bytes (max " + (MAX_PKG_LENGTH - 4) + ")");
    }

    /**
     * Encodes a raw PkgLength value (which already includes the PkgLength bytes). One byte holds
     * 0..63; otherwise bits 7-6 of the lead byte count the following bytes (1..3), bits 3-0 hold
     * the least significant nibble and each following byte the next 8 bits.
     */
    public static byte[] encodePkgLength(int value) {
        if (value < 0 || value > MAX_PKG_LENGTH) {
            throw new IllegalArgumentException("PkgLength out of range 0..0x0FFFFFFF: " + value);
        }
        if (value <= 0x3F) {
            return new byte[] {(byte) value};
        }
        int following = value <= 0xFFF ? 1 : value <= 0xF_FFFF ? 2 : 3;
        byte[] out = new byte[1 + following];
        out[0] = (byte) ((following << 6) | (value & 0x0F));
        for (int i = 1; i <= following; i++) {
            out[i] = (byte) (value >>> (4 + 8 * (i - 1)));
        }
        return out;
    }

    private static long maxPkgLengthFor(int encodedBytes) {
        return encodedBytes == 1 ? 0x3F : (1L << (4 + 8 * (encodedBytes - 1))) - 1;
    }

    // ---------------------------------------------------------------- data objects

    /**
     * Encodes an integer in its shortest form: ZeroOp, OneOp, OnesOp (for -1, i.e. all 64 bits
     * set, which needs a revision-2 definition block), or Byte/Word/DWord/QWord constants.
     * Values are treated as unsigned 64-bit.
     */
    public static byte[] integer(long value) {
        if (value == 0) {
            return new byte[] {ZERO_OP};
        }
        if (value == 1) {
            return new byte[] {ONE_OP};
        }
        if (value == -1L) {
            return new byte[] {(byte) ONES_OP};
        }
        if ((value & ~0xFFL) == 0) {
            return prefixed(BYTE_PREFIX, value, 1);
        }
        if ((value & ~0xFFFFL) == 0) {
            return prefixed(WORD_PREFIX, value, 2);
        }
        if ((value & ~0xFFFF_FFFFL) == 0) {
            return prefixed(DWORD_PREFIX, value, 4);
        }
        return prefixed(QWORD_PREFIX, value, 8);
    }

    public static byte[] zero() {
        return integer(0);
    }

    public static byte[] one() {
        return integer(1);
    }

    public static byte[] ones() {
        return integer(-1L);
    }

    private static byte[] prefixed(int prefix, long value, int width) {
        byte[] out = new byte[1 + width];
        out[0] = (byte) prefix;
        for (int i = 0; i < width; i++) {
            out[1 + i] = (byte) (value >>> (8 * i));
        }
        return out;
    }

    /** A String object: StringPrefix, ASCII 0x01..0x7F characters, NUL terminator. */
    public static byte[] string(String text) {
        if (!text.chars().allMatch(c -> c >= 0x01 && c <= 0x7F)) {
            throw new IllegalArgumentException("AML strings hold ASCII 0x01..0x7F only: \"" + text + "\"");
        }
        byte[] chars = text.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[chars.length + 2];
        out[0] = STRING_PREFIX;
        System.arraycopy(chars, 0, out, 1, chars.length);
        return out;
    }

    /**
     * The compressed 32-bit EISA id that ASL's {@code EisaId("PNP0501")} produces: three letters
     * of 5 bits each and four hex digits, stored big-endian inside a DWord integer (so
     * PNP0501 becomes 0x0105D041).
     */
    public static byte[] eisaId(String id) {
        return integer(eisaIdValue(id));
    }

    public static long eisaIdValue(String id) {
        if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
            throw new IllegalArgumentException(
                    "EISA id must be 3 upper-case letters and 4 upper-case hex digits: \"" + id + "\"");
        }
        int vendor = ((id.charAt(0) - 0x40) << 10) | ((id.charAt(1) - 0x40) << 5) | (id.charAt(2) - 0x40);
        int product = Integer.parseInt(id.substring(3), 16);
        int bigEndian = (vendor << 16) | product;
        return Integer.toUnsignedLong(Integer.reverseBytes(bigEndian));
    }

    /** DefPackage with a fixed element count (at most 255; larger needs VarPackage). */
    public static byte[] packageOf(byte[]... elements) {
        if (elements.length > 0xFF) {
            throw new IllegalArgumentException("a Package holds at most 255 elements: " + elements.length);
        }
        return withPkgLength(PACKAGE_OP, concat(new byte[] {(byte) elements.length}, concat(elements)));
    }

    /** DefBuffer: BufferSize is encoded as an integer followed by the initialiser bytes. */
    public static byte[] buffer(byte[] data) {
        return withPkgLength(BUFFER_OP, concat(integer(data.length), data));
    }

    /**
     * ASL's {@code ToUUID ("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp")}: a 16-byte Buffer with the first three groups
     * stored little-endian and the last two in string order (the ASL ToUUID macro of ACPI 6.5), what an OS passes as
     * {@code _OSC}'s Arg0.
     */
    public static byte[] toUuid(String uuid) {
        if (!uuid.matches("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")) {
            throw new IllegalArgumentException("not a UUID: \"" + uuid + "\"");
        }
        String hex = uuid.replace("-", "");
        byte[] bytes = new byte[16];
        for (int i = 0; i < 16; i++) {
            bytes[i] = (byte) Integer.parseInt(hex, 2 * i, 2 * i + 2, 16);
        }
        byte[] out = bytes.clone();
        // Groups 1-3 (4, 2 and 2 bytes) are little-endian numbers.
        for (int i = 0; i < 4; i++) {
            out[i] = bytes[3 - i];
        }
        out[4] = bytes[5];
        out[5] = bytes[4];
        out[6] = bytes[7];
        out[7] = bytes[6];
        return buffer(out);
    }

    // ---------------------------------------------------------------- named objects

    /** DefName: binds {@code name} to a data object. */
    public static byte[] name(String name, byte[] value) {
        return concat(new byte[] {NAME_OP}, nameString(name), value);
    }

    /** DefScope: opens an existing namespace scope (e.g. {@code \_SB}) and adds terms to it. */
    public static byte[] scope(String name, byte[]... terms) {
        return withPkgLength(SCOPE_OP, concat(nameString(name), concat(terms)));
    }

    /** DefDevice (ExtOpPrefix 0x82). */
    public static byte[] device(String name, byte[]... terms) {
        byte[] body = concat(nameString(name), concat(terms));
        return concat(new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, pkgLength(body.length), body);
    }

    /** DefMethod with SyncLevel 0. */
    public static byte[] method(String name, int argCount, boolean serialized, byte[]... terms) {
        if (argCount < 0 || argCount > 7) {
            throw new IllegalArgumentException("a method takes 0..7 arguments: " + argCount);
        }
        int flags = argCount | (serialized ? 0x08 : 0);
        return withPkgLength(METHOD_OP, concat(nameString(name), new byte[] {(byte) flags}, concat(terms)));
    }

    /** DefReturn. */
    public static byte[] returnValue(byte[] value) {
        return concat(new byte[] {(byte) RETURN_OP}, value);
    }

    /**
     * DefOpRegion: {@code OperationRegion (name, space, offset, length)} with constant offset and length.
     */
    public static byte[] operationRegion(String name, RegionSpace space, long offset, long length) {
        return concat(new byte[] {EXT_OP_PREFIX, (byte) OP_REGION_OP}, nameString(name), new byte[] {(byte) space.code},
                integer(offset), integer(length));
    }

    /**
     * DefField: {@code Field (region, access, NoLock, update) {units}}. Always NoLock: the Global Lock lives in the
     * FACS, which a hardware-reduced platform without one does not have.
     */
    public static byte[] field(String region, FieldAccess access, FieldUpdate update, FieldUnit... units) {
        ByteWriter list = new ByteWriter(8 * units.length);
        for (FieldUnit u : units) {
            // A NamedField's PkgLength is the bit count itself, not a self-inclusive package length.
            list.bytes(nameSeg(u.name(), u.name())).bytes(encodePkgLength(u.bits()));
        }
        byte[] body = concat(nameString(region), new byte[] {(byte) (access.code | update.code << 5)},
                list.toByteArray());
        return concat(new byte[] {EXT_OP_PREFIX, (byte) FIELD_OP}, pkgLength(body.length), body);
    }

    /** {@code LocalN}, a method's local variable 0..7. */
    public static byte[] local(int n) {
        if (n < 0 || n > 7) {
            throw new IllegalArgumentException("a method has Local0..Local7, not Local" + n);
        }
        return new byte[] {(byte) (LOCAL0_OP + n)};
    }

    /** {@code ArgN}, a method's argument 0..6. */
    public static byte[] arg(int n) {
        if (n < 0 || n > 6) {
            throw new IllegalArgumentException("a method has Arg0..Arg6, not Arg" + n);
        }
        return new byte[] {(byte) (ARG0_OP + n)};
    }

    /** DefStore: {@code target = source}; {@code target} is a SuperName (a name or a LocalN). */
    public static byte[] store(byte[] source, byte[] target) {
        return concat(new byte[] {STORE_OP}, source, target);
    }

    /** DefAnd without a target: the value of {@code (a & b)}, e.g. as an If predicate. */
    public static byte[] and(byte[] a, byte[] b) {
        return concat(new byte[] {AND_OP}, a, b, new byte[] {NULL_NAME});
    }

    /** DefAnd with a target: {@code target = (a & b)}, which is how iasl compiles that ASL+ assignment. */
    public static byte[] and(byte[] a, byte[] b, byte[] target) {
        return concat(new byte[] {AND_OP}, a, b, target);
    }

    /** DefOr with a target: {@code target = (a | b)}; ASL's {@code x |= v} is {@code or(x, v, x)}. */
    public static byte[] or(byte[] a, byte[] b, byte[] target) {
        return concat(new byte[] {OR_OP}, a, b, target);
    }

    /** DefLEqual: {@code (a == b)}, One or Zero; buffers compare byte by byte. */
    public static byte[] lEqual(byte[] a, byte[] b) {
        return concat(new byte[] {(byte) LEQUAL_OP}, a, b);
    }

    /** {@code (a != b)}: AML has no LNotEqual opcode, so this is LNot (LEqual (a, b)), as iasl emits it. */
    public static byte[] lNotEqual(byte[] a, byte[] b) {
        return concat(new byte[] {(byte) LNOT_OP}, lEqual(a, b));
    }

    /**
     * DefCreateDWordField: {@code CreateDWordField (source, byteIndex, name)}, a named 32-bit field over bytes
     * {@code byteIndex..byteIndex+3} of the buffer {@code source}; writing the field writes the buffer.
     */
    public static byte[] createDWordField(byte[] source, byte[] byteIndex, String name) {
        return concat(new byte[] {(byte) CREATE_DWORD_FIELD_OP}, source, byteIndex, nameString(name));
    }

    /** DefIfElse without an Else: {@code If (predicate) {terms}}; a non-zero predicate is true. */
    public static byte[] ifThen(byte[] predicate, byte[]... terms) {
        return withPkgLength(IF_OP, concat(predicate, concat(terms)));
    }

    /**
     * DefElse: {@code Else {terms}}. It follows an {@link #ifThen} directly; the grammar puts it after the If's
     * package, not inside it.
     */
    public static byte[] elseBlock(byte[]... terms) {
        return withPkgLength(ELSE_OP, concat(terms));
    }

    /** DefNotify: {@code Notify (object, value)}, e.g. 0x80 to a power button device. */
    public static byte[] notify(String object, int value) {
        checkRange("Notify value", value, 0xFF);
        return concat(new byte[] {(byte) NOTIFY_OP}, nameString(object), integer(value));
    }

    /**
     * Encodes a NameString: an optional root ({@code \}) or parent ({@code ^}) prefix, then
     * dot-separated segments of up to 4 characters (padded with '_'). One segment is emitted as
     * is, two use DualNamePrefix and more use MultiNamePrefix; {@code "\"} alone is the root.
     */
    public static byte[] nameString(String name) {
        ByteWriter w = new ByteWriter(16);
        int i = 0;
        if (name.startsWith("\\")) {
            w.u8(ROOT_CHAR);
            i = 1;
        } else {
            while (i < name.length() && name.charAt(i) == '^') {
                w.u8(PARENT_PREFIX);
                i++;
            }
        }
        String path = name.substring(i);
        if (path.isEmpty()) {
            if (i == 0) {
                throw new IllegalArgumentException("empty AML name");
            }
            return w.u8(NULL_NAME).toByteArray();
        }
        String[] segments = path.split("\\.", -1);
        if (segments.length > 0xFF) {
            throw new IllegalArgumentException("too many name segments: " + name);
        }
        if (segments.length == 2) {
            w.u8(DUAL_NAME_PREFIX);
        } else if (segments.length > 2) {
            w.u8(MULTI_NAME_PREFIX).u8(segments.length);
        }
        for (String segment : segments) {
            w.bytes(nameSeg(segment, name));
        }
        return w.toByteArray();
    }

    private static byte[] nameSeg(String segment, String fullName) {
        if (segment.isEmpty() || segment.length() > 4) {
            throw new IllegalArgumentException("AML name segments have 1..4 characters: \"" + fullName + "\"");
        }
        byte[] seg = {'_', '_', '_', '_'};
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
            if (!ok) {
                throw new IllegalArgumentException(
                        "AML names use A-Z, '_' and (not first) 0-9: \"" + fullName + "\"");
            }
            seg[i] = (byte) c;
        }
        return seg;
    }

    // ---------------------------------------------------------------- resource templates

    /** ResourceTemplate: a Buffer holding the descriptors followed by an End Tag (checksum 0). */
    public static byte[] resourceTemplate(byte[]... descriptors) {
        return buffer(concat(concat(descriptors), new byte[] {0x79, 0x00}));
    }

    /** {@code IO (Decode16, min, max, alignment, length)}: small I/O Port descriptor (type 0x08). */
    public static byte[] io(int minimum, int maximum, int alignment, int length) {
        checkRange("I/O range minimum", minimum, 0xFFFF);
        checkRange("I/O range maximum", maximum, 0xFFFF);
        checkRange("I/O alignment", alignment, 0xFF);
        checkRange("I/O length", length, 0xFF);
        if (maximum < minimum) {
            throw new IllegalArgumentException("I/O range maximum below minimum: " + maximum + " < " + minimum);
        }
        return new ByteWriter(8).u8(0x47).u8(0x01 /* 16-bit decode */)
                .u16(minimum).u16(maximum).u8(alignment).u8(length).toByteArray();
    }

    /** {@code IRQNoFlags () {irqs}}: 2-byte IRQ descriptor, implicitly edge/high/exclusive. */
    public static byte[] irqNoFlags(int... irqs) {
        int mask = 0;
        for (int irq : irqs) {
            checkRange("ISA IRQ", irq, 15);
            mask |= 1 << irq;
        }
        return new ByteWriter(3).u8(0x22).u16(mask).toByteArray();
    }

    /** {@code Memory32Fixed (ReadWrite|ReadOnly, base, length)}: large descriptor 0x86. */
    public static byte[] memory32Fixed(boolean readWrite, long base, long length) {
        checkRange("Memory32Fixed base", base, 0xFFFF_FFFFL);
        checkRange("Memory32Fixed length", length, 0xFFFF_FFFFL);
        return new ByteWriter(12).u8(0x86).u16(9).u8(readWrite ? 1 : 0)
                .u32(base).u32(length).toByteArray();
    }

    /**
     * {@code Interrupt (ResourceConsumer, trigger, polarity, sharing) {gsis}}: Extended Interrupt
     * descriptor (large 0x89) without a resource source. Devices in a DSDT consume interrupts, so
     * the consumer bit is always set.
     */
    public static byte[] interrupt(Trigger trigger, Polarity polarity, Sharing sharing, long... gsis) {
        if (gsis.length < 1 || gsis.length > 0xFF) {
            throw new IllegalArgumentException("an Interrupt descriptor lists 1..255 interrupts: " + gsis.length);
        }
        int flags = 0x01 // ResourceConsumer
                | (trigger == Trigger.EDGE ? 0x02 : 0)
                | (polarity == Polarity.ACTIVE_LOW ? 0x04 : 0)
                | (sharing == Sharing.SHARED ? 0x08 : 0);
        ByteWriter w = new ByteWriter(5 + 4 * gsis.length).u8(0x89).u16(2 + 4 * gsis.length)
                .u8(flags).u8(gsis.length);
        for (long gsi : gsis) {
            checkRange("interrupt number", gsi, 0xFFFF_FFFFL);
            w.u32(gsi);
        }
        return w.toByteArray();
    }

    // Address Space Descriptors (ACPI 6.5 section 6.4.3.5): the resource types and their large item tags.
    private static final int RESOURCE_TYPE_MEMORY = 0;
    private static final int RESOURCE_TYPE_IO = 1;
    private static final int RESOURCE_TYPE_BUS_NUMBER = 2;
    private static final int QWORD_ADDRESS_SPACE_TAG = 0x8A;
    private static final int DWORD_ADDRESS_SPACE_TAG = 0x87;
    private static final int WORD_ADDRESS_SPACE_TAG = 0x88;
    /** General flags: _MIF and _MAF set (a fixed window), positive decode, ResourceProducer (bit 0 clear). */
    private static final int BRIDGE_WINDOW_FLAGS = 0x0C;
    /** I/O type-specific flags: _RNG = EntireRange, TypeStatic, DenseTranslation. */
    private static final int IO_ENTIRE_RANGE = 0x03;
    /** Memory type-specific flags: _RW = ReadWrite, _MEM = NonCacheable, AddressRangeMemory, TypeStatic. */
    private static final int MEMORY_NON_CACHEABLE_READ_WRITE = 0x01;

    /**
     * {@code WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max - min + 1)}: the bus
     * numbers a host bridge decodes.
     */
    public static byte[] wordBusNumber(int minimum, int maximum) {
        checkRange("bus number minimum", minimum, 0xFF);
        checkRange("bus number maximum", maximum, 0xFF);
        return addressSpace(WORD_ADDRESS_SPACE_TAG, 2, RESOURCE_TYPE_BUS_NUMBER, 0, minimum, maximum);
    }

    /**
     * {@code WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, length)}: a port
     * window a bridge forwards.
     */
    public static byte[] wordIo(int minimum, int maximum) {
        checkRange("I/O window minimum", minimum, 0xFFFF);
        checkRange("I/O window maximum", maximum, 0xFFFF);
        return addressSpace(WORD_ADDRESS_SPACE_TAG, 2, RESOURCE_TYPE_IO, IO_ENTIRE_RANGE, minimum, maximum);
    }

    /**
     * {@code DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, min, max, 0,
     * length)}: a memory window below 4 GiB that a bridge forwards. Non-cacheable, not Prefetchable: Linux marks a
     * Prefetchable window IORESOURCE_PREFETCH and then places no non-prefetchable BAR in it.
     */
    public static byte[] dwordMemory(long minimum, long maximum) {
        checkRange("DWordMemory minimum", minimum, 0xFFFF_FFFFL);
        checkRange("DWordMemory maximum", maximum, 0xFFFF_FFFFL);
        return addressSpace(DWORD_ADDRESS_SPACE_TAG, 4, RESOURCE_TYPE_MEMORY, MEMORY_NON_CACHEABLE_READ_WRITE,
                minimum, maximum);
    }

    /** {@code QWordMemory (...)} with the same flags as {@link #dwordMemory}, for a window above 4 GiB. */
    public static byte[] qwordMemory(long minimum, long maximum) {
        checkRange("QWordMemory minimum", minimum, Long.MAX_VALUE);
        checkRange("QWordMemory maximum", maximum, Long.MAX_VALUE);
        return addressSpace(QWORD_ADDRESS_SPACE_TAG, 8, RESOURCE_TYPE_MEMORY, MEMORY_NON_CACHEABLE_READ_WRITE,
                minimum, maximum);
    }

    /**
     * A fixed-size, fixed-location Address Space Descriptor without a resource source: granularity 0 and length
     * {@code max - min + 1}, as ACPI requires when _MIF and _MAF are both set; translation offset 0.
     */
    private static byte[] addressSpace(int tag, int width, int resourceType, int typeFlags, long minimum,
                                       long maximum) {
        if (maximum < minimum) {
            throw new IllegalArgumentException("address range maximum 0x" + Long.toHexString(maximum)
                    + " below minimum 0x" + Long.toHexString(minimum));
        }
        ByteWriter w = new ByteWriter(6 + 5 * width).u8(tag).u16(3 + 5 * width)
                .u8(resourceType).u8(BRIDGE_WINDOW_FLAGS).u8(typeFlags);
        for (long field : new long[] {0, minimum, maximum, 0, maximum - minimum + 1}) {
            for (int i = 0; i < width; i++) {
                w.u8((int) (field >>> (8 * i)));
            }
        }
        return w.toByteArray();
    }

    // ---------------------------------------------------------------- helpers

    public static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    private static byte[] withPkgLength(int opcode, byte[] body) {
        return concat(new byte[] {(byte) opcode}, pkgLength(body.length), body);
    }

    private static void checkRange(String what, long value, long max) {
        if (value < 0 || value > max) {
            throw new IllegalArgumentException(what + " out of range 0..0x" + Long.toHexString(max) + ": 0x"
                    + Long.toHexString(value));
        }
    }
}
