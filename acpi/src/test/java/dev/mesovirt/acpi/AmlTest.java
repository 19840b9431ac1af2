package dev.mesovirt.acpi;

import dev.mesovirt.acpi.testing.AmlWalker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.acpi.Aml.FieldAccess;
import dev.mesovirt.acpi.Aml.FieldUnit;
import dev.mesovirt.acpi.Aml.FieldUpdate;
import dev.mesovirt.acpi.Aml.Polarity;
import dev.mesovirt.acpi.Aml.RegionSpace;
import dev.mesovirt.acpi.Aml.Sharing;
import dev.mesovirt.acpi.Aml.Trigger;
import java.io.ByteArrayOutputStream;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AmlTest {

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    // ------------------------------------------------------------ PkgLength

    @ParameterizedTest(name = "raw PkgLength {0} -> {1}")
    @CsvSource({
            "0, 00",
            "1, 01",
            "63, 3F",
            "64, 4004",
            "65, 4104",
            "4095, 4FFF",
            "4096, 800001",
            "1048575, 8FFFFF",
            "1048576, C0000001",
            "268435455, CFFFFFFF",
    })
    void encodesRawPkgLengthAtEveryBoundary(int value, String expected) {
        assertArrayEquals(hex(expected), Aml.encodePkgLength(value));
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 268435456, Integer.MAX_VALUE})
    void rejectsPkgLengthsThatDoNotFit(int value) {
        assertThrows(IllegalArgumentException.class, () -> Aml.encodePkgLength(value));
    }

    /** The PkgLength counts its own bytes, so the encoding grows one content byte early. */
    @ParameterizedTest(name = "content {0} -> {1}")
    @CsvSource({
            "0, 01",
            "62, 3F",         // 62 + 1 = 63 still fits one byte
            "63, 4104",       // 63 + 1 = 64 does not: 63 + 2 = 65
            "4093, 4FFF",     // 4093 + 2 = 4095
            "4094, 810001",   // 4094 + 2 = 4096 overflows two bytes: 4094 + 3 = 4097
            "1048572, 8FFFFF", // 1048572 + 3 = 1048575
            "1048573, C1000001", // 1048573 + 3 = 1048576 overflows: 1048573 + 4 = 1048577
            "268435451, CFFFFFFF", // the largest encodable package
    })
    void pkgLengthIncludesItsOwnBytes(int contentLength, String expected) {
        assertArrayEquals(hex(expected), Aml.pkgLength(contentLength));
    }

    @Test
    void rejectsPackagesTooLargeForAPkgLength() {
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(268435452));
        assertThrows(IllegalArgumentException.class, () -> Aml.pkgLength(-1));
    }

    @Test
    void pkgLengthRoundTripsThroughAnIndependentDecoder() {
        Random rnd = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            int content = switch (i % 4) {
                case 0 -> rnd.nextInt(128);
                case 1 -> rnd.nextInt(8192);
                case 2 -> rnd.nextInt(2 << 20);
                default -> rnd.nextInt(Aml.MAX_PKG_LENGTH - 4);
            };
            byte[] enc = Aml.pkgLength(content);
            AmlWalker.PkgLength dec = AmlWalker.decodePkgLength(enc, 0);
            assertEquals(enc.length, dec.size());
            assertEquals(content + enc.length, dec.value(), "content " + content);
        }
    }

    // ------------------------------------------------------------ integers

    @ParameterizedTest(name = "integer {0} -> {1}")
    @CsvSource({
            "0, 00",                                 // ZeroOp
            "1, 01",                                 // OneOp
            "2, 0A02",                               // BytePrefix
            "255, 0AFF",
            "256, 0B0001",                           // WordPrefix
            "65535, 0BFFFF",
            "65536, 0C00000100",                     // DWordPrefix
            "4294967295, 0CFFFFFFFF",
            "4294967296, 0E0000000001000000",        // QWordPrefix
            "-1, FF",                                // OnesOp (all 64 bits set)
            "-2, 0EFEFFFFFFFFFFFFFF",
            "-9223372036854775808, 0E0000000000000080",
    })
    void encodesIntegersInTheShortestForm(long value, String expected) {
        assertArrayEquals(hex(expected), Aml.integer(value));
    }

    @Test
    void namedIntegerConstants() {
        assertArrayEquals(hex("00"), Aml.zero());
        assertArrayEquals(hex("01"), Aml.one());
        assertArrayEquals(hex("FF"), Aml.ones());
    }

    // ------------------------------------------------------------ strings and names

    @Test
    void encodesStringsWithPrefixAndTerminator() {
        assertArrayEquals(cat(hex("0D"), ascii("LNRO0005"), hex("00")), Aml.string("LNRO0005"));
        assertArrayEquals(hex("0D00"), Aml.string(""));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("caf\u00e9"));
        assertThrows(IllegalArgumentException.class, () -> Aml.string("a\0b"));
    }

    @ParameterizedTest(name = "EisaId {0} -> {1}")
    @CsvSource({
            "PNP0501, 0C41D00501", // 0x0105D041, the well-known 16550A id
            "PNP0B00, 0C41D00B00", // 0x000BD041, AT RTC
            "PNP0C0C, 0C41D00C0C",
            "QEM0001, 0C44AD0001",
    })
    void compressesEisaIds(String id, String expected) {
        assertArrayEquals(hex(expected), Aml.eisaId(id));
    }

    @Test
    void eisaIdValueMatchesTheSpecExample() {
        assertEquals(0x0105D041L, Aml.eisaIdValue("PNP0501"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"pnp0501", "PNP050", "PNP05011", "PN10501", "PNP05G1"})
    void rejectsMalformedEisaIds(String id) {
        assertThrows(IllegalArgumentException.class, () -> Aml.eisaId(id));
    }

    @Test
    void encodesNameStrings() {
        assertArrayEquals(ascii("_SB_"), Aml.nameString("_SB"));
        assertArrayEquals(ascii("COM1"), Aml.nameString("COM1"));
        assertArrayEquals(cat(hex("5C"), ascii("_SB_")), Aml.nameString("\\_SB"));
        assertArrayEquals(hex("5C00"), Aml.nameString("\\"));
        assertArrayEquals(cat(hex("5E5E"), ascii("FOO_")), Aml.nameString("^^FOO"));
        assertArrayEquals(cat(hex("5C2E"), ascii("_SB_COM1")), Aml.nameString("\\_SB.COM1"));
        assertArrayEquals(cat(hex("2F03"), ascii("A___B___C___")), Aml.nameString("A.B.C"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1ABC", "ABCDE", "abc", "A..B", "A.", "VR-1"})
    void rejectsInvalidNames(String name) {
        assertThrows(IllegalArgumentException.class, () -> Aml.nameString(name));
    }

    // ------------------------------------------------------------ composite terms

    @Test
    void encodesName() {
        assertArrayEquals(cat(hex("08"), ascii("_UID"), hex("0A07")), Aml.name("_UID", Aml.integer(7)));
    }

    @Test
    void encodesPackageWithElementCount() {
        // Name (_S5, Package (0x04) {0x05, Zero, Zero, Zero})
        assertArrayEquals(hex("12 07 04 0A05 00 00 00"),
                Aml.packageOf(Aml.integer(5), Aml.zero(), Aml.zero(), Aml.zero()));
        assertArrayEquals(hex("12 02 00"), Aml.packageOf());
    }

    @Test
    void encodesScopeDeviceAndMethod() {
        assertArrayEquals(cat(hex("10 05"), ascii("_SB_")), Aml.scope("_SB"));
        assertArrayEquals(cat(hex("5B82 05"), ascii("VR00")), Aml.device("VR00"));
        // Method (_STA, 0, NotSerialized) { Return (0x0F) }
        assertArrayEquals(cat(hex("14 09"), ascii("_STA"), hex("00 A4 0A0F")),
                Aml.method("_STA", 0, false, Aml.returnValue(Aml.integer(0x0F))));
        assertArrayEquals(cat(hex("14 06"), ascii("_EVT"), hex("09")), Aml.method("_EVT", 1, true));
        assertThrows(IllegalArgumentException.class, () -> Aml.method("_EVT", 8, false));
    }

    @Test
    void largeDeviceUsesMultiBytePkgLength() {
        byte[] filler = Aml.name("FILL", Aml.buffer(new byte[100]));
        byte[] dev = Aml.device("BIG", filler);
        // body = 4 (name) + filler; PkgLength needs two bytes once body + 1 > 63
        int body = 4 + filler.length;
        assertEquals(2 + 2 + body, dev.length);
        AmlWalker.PkgLength p = AmlWalker.decodePkgLength(dev, 2);
        assertEquals(body + 2, p.value());
    }

    @Test
    void encodesBuffers() {
        assertArrayEquals(hex("11 06 0A03 010203"), Aml.buffer(new byte[] {1, 2, 3}));
        assertArrayEquals(hex("11 02 00"), Aml.buffer(new byte[0]));
    }

    // ------------------------------------------------------------ resource descriptors

    @Test
    void encodesResourceDescriptors() {
        assertArrayEquals(hex("47 01 F803 F803 01 08"), Aml.io(0x3F8, 0x3F8, 1, 8));
        assertArrayEquals(hex("22 1000"), Aml.irqNoFlags(4));
        assertArrayEquals(hex("22 0001"), Aml.irqNoFlags(8));
        assertArrayEquals(hex("22 1200"), Aml.irqNoFlags(1, 4));
        assertArrayEquals(hex("86 0900 01 000000D0 00020000"), Aml.memory32Fixed(true, 0xD000_0000L, 0x200));
        assertArrayEquals(hex("86 0900 00 00100000 00100000"), Aml.memory32Fixed(false, 0x1000, 0x1000));
        // Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {5}
        assertArrayEquals(hex("89 0600 01 01 05000000"),
                Aml.interrupt(Trigger.LEVEL, Polarity.ACTIVE_HIGH, Sharing.EXCLUSIVE, 5));
        // Interrupt (ResourceConsumer, Edge, ActiveLow, Shared) {1, 2}
        assertArrayEquals(hex("89 0A00 0F 02 01000000 02000000"),
                Aml.interrupt(Trigger.EDGE, Polarity.ACTIVE_LOW, Sharing.SHARED, 1, 2));
    }

    @Test
    void resourceTemplateAppendsEndTag() {
        assertArrayEquals(hex("11 10 0A0D 47 01 F803 F803 01 08 22 1000 79 00"),
                Aml.resourceTemplate(Aml.io(0x3F8, 0x3F8, 1, 8), Aml.irqNoFlags(4)));
    }

    @Test
    void rejectsOutOfRangeResources() {
        assertThrows(IllegalArgumentException.class, () -> Aml.io(0x10000, 0x10000, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Aml.io(0x20, 0x10, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Aml.io(0x10, 0x10, 1, 256));
        assertThrows(IllegalArgumentException.class, () -> Aml.irqNoFlags(16));
        assertThrows(IllegalArgumentException.class, () -> Aml.memory32Fixed(true, 0x1_0000_0000L, 1));
        assertThrows(IllegalArgumentException.class,
                () -> Aml.interrupt(Trigger.LEVEL, Polarity.ACTIVE_HIGH, Sharing.EXCLUSIVE));
        assertThrows(IllegalArgumentException.class,
                () -> Aml.interrupt(Trigger.LEVEL, Polarity.ACTIVE_HIGH, Sharing.EXCLUSIVE, -1));
    }

    /** A whole COM1 device, byte for byte as iasl compiles the equivalent ASL. */
    @Test
    void encodesSerialDeviceGolden() {
        byte[] expected = cat(
                hex("5B82 2B"), ascii("COM1"),
                hex("08"), ascii("_HID"), hex("0C 41D00501"),
                hex("08"), ascii("_UID"), hex("00"),
                hex("08"), ascii("_CRS"), hex("11 10 0A0D 47 01 F803 F803 01 08 22 1000 79 00"));
        byte[] actual = Aml.device("COM1",
                Aml.name("_HID", Aml.eisaId("PNP0501")),
                Aml.name("_UID", Aml.zero()),
                Aml.name("_CRS", Aml.resourceTemplate(Aml.io(0x3F8, 0x3F8, 1, 8), Aml.irqNoFlags(4))));
        assertArrayEquals(expected, actual);
    }

    // ------------------------------------------------------------ operation regions, fields, method bodies
    // Expected bytes are what iasl 20200925 (Debian 12 acpica-tools) compiles for the ASL in each comment.

    @Test
    void encodesOperationRegions() {
        // OperationRegion (EREG, SystemMemory, 0xFEA00300, 0x04)
        assertArrayEquals(cat(hex("5B80"), ascii("EREG"), hex("00 0C0003A0FE 0A04")),
                Aml.operationRegion("EREG", RegionSpace.SYSTEM_MEMORY, 0xFEA0_0300L, 4));
        // OperationRegion (IOR, SystemIO, 0x0402, One)
        assertArrayEquals(cat(hex("5B80"), ascii("IOR_"), hex("01 0B0204 01")),
                Aml.operationRegion("IOR", RegionSpace.SYSTEM_IO, 0x402, 1));
    }

    @Test
    void encodesFields() {
        // Field (EREG, DWordAcc, NoLock, WriteAsZeros) { ESEL, 32 }
        assertArrayEquals(cat(hex("5B81 0B"), ascii("EREG"), hex("43"), ascii("ESEL"), hex("20")),
                Aml.field("EREG", FieldAccess.DWORD, FieldUpdate.WRITE_AS_ZEROS, new FieldUnit("ESEL", 32)));
        // Field (IOR, ByteAcc, NoLock, Preserve) { DBGB, 8, DBGW, 16, DBGX, 64 }: 64 bits need a 2-byte length
        assertArrayEquals(cat(hex("5B81 16"), ascii("IOR_"), hex("01"), ascii("DBGB"), hex("08"), ascii("DBGW"),
                        hex("10"), ascii("DBGX"), hex("4004")),
                Aml.field("IOR", FieldAccess.BYTE, FieldUpdate.PRESERVE, new FieldUnit("DBGB", 8),
                        new FieldUnit("DBGW", 16), new FieldUnit("DBGX", 64)));
        // Field (R, AnyAcc, NoLock, WriteAsOnes) { A, 8 }; QWordAcc, WriteAsZeros is flags 0x44
        assertArrayEquals(cat(hex("5B81 0B"), ascii("R___"), hex("20"), ascii("A___"), hex("08")),
                Aml.field("R", FieldAccess.ANY, FieldUpdate.WRITE_AS_ONES, new FieldUnit("A", 8)));
        assertEquals(0x44, Aml.field("R", FieldAccess.QWORD, FieldUpdate.WRITE_AS_ZEROS, new FieldUnit("B", 64))[7]);
    }

    @Test
    void rejectsBadFieldUnits() {
        assertThrows(IllegalArgumentException.class, () -> new FieldUnit("ESEL", 0));
        assertThrows(IllegalArgumentException.class, () -> new FieldUnit("A.B", 8));
        assertThrows(IllegalArgumentException.class, () -> new FieldUnit("TOOLONG", 8));
        assertThrows(IllegalArgumentException.class, () -> new FieldUnit("1BAD", 8));
    }

    @Test
    void encodesLocalsStoreAndIfNotify() {
        assertArrayEquals(hex("60"), Aml.local(0));
        assertArrayEquals(hex("67"), Aml.local(7));
        assertThrows(IllegalArgumentException.class, () -> Aml.local(8));
        assertThrows(IllegalArgumentException.class, () -> Aml.local(-1));
        // Local0 = ESEL
        assertArrayEquals(cat(hex("70"), ascii("ESEL"), hex("60")), Aml.store(Aml.nameString("ESEL"), Aml.local(0)));
        // (Local0 & 0x02), no target
        assertArrayEquals(hex("7B 60 0A02 00"), Aml.and(Aml.local(0), Aml.integer(2)));
        // Notify (PWRB, 0x80)
        assertArrayEquals(cat(hex("86"), ascii("PWRB"), hex("0A80")), Aml.notify("PWRB", 0x80));
        assertArrayEquals(cat(hex("86 5C2E"), ascii("_SB_PWRB"), hex("00")), Aml.notify("\\_SB.PWRB", 0));
        assertThrows(IllegalArgumentException.class, () -> Aml.notify("PWRB", 0x100));
        // If ((Local0 & 0x02)) { Notify (PWRB, 0x80) }
        assertArrayEquals(cat(hex("A0 0D 7B 60 0A02 00 86"), ascii("PWRB"), hex("0A80")),
                Aml.ifThen(Aml.and(Aml.local(0), Aml.integer(2)), Aml.notify("PWRB", 0x80)));
    }

    /** The GED's _EVT method, byte for byte as iasl compiles it. */
    @Test
    void encodesGedEventMethodGolden() {
        // Method (_EVT, 1, Serialized) { Local0 = ESEL  If ((Local0 & 0x02)) { Notify (PWRB, 0x80) } }
        byte[] expected = cat(hex("14 1A"), ascii("_EVT"), hex("09 70"), ascii("ESEL"),
                hex("60 A0 0D 7B 60 0A02 00 86"), ascii("PWRB"), hex("0A80"));
        assertArrayEquals(expected, Aml.method("_EVT", 1, true,
                Aml.store(Aml.nameString("ESEL"), Aml.local(0)),
                Aml.ifThen(Aml.and(Aml.local(0), Aml.integer(2)), Aml.notify("PWRB", 0x80))));
    }

    // ------------------------------------------------------------ PCI host bridge terms
    // Bytes as iasl 20200925 compiles the ASL in each comment (AmlIaslTest runs iasl on the same ASL).

    @Test
    void encodesBridgeWindows() {
        // WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100)
        assertArrayEquals(hex("88 0D00 02 0C 00 0000 0000 FF00 0000 0001"), Aml.wordBusNumber(0, 0xFF));
        // WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0xC000, 0xFFFF, 0, 0x4000)
        assertArrayEquals(hex("88 0D00 01 0C 03 0000 00C0 FFFF 0000 0040"), Aml.wordIo(0xC000, 0xFFFF));
        // DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
        //     0, 0xC0000000, 0xFE9FFFFF, 0, 0x3EA00000)
        assertArrayEquals(hex("87 1700 00 0C 01 00000000 000000C0 FFFF9FFE 00000000 0000A03E"),
                Aml.dwordMemory(0xC000_0000L, 0xFE9F_FFFFL));
        // QWordMemory (..., 0, 0x800000000, 0xFFFFFFFFF, 0, 0x800000000)
        assertArrayEquals(hex("8A 2B00 00 0C 01 0000000000000000 0000000008000000 FFFFFFFF0F000000"
                + " 0000000000000000 0000000008000000"), Aml.qwordMemory(0x8_0000_0000L, 0xF_FFFF_FFFFL));
    }

    @Test
    void rejectsBadBridgeWindows() {
        assertThrows(IllegalArgumentException.class, () -> Aml.wordBusNumber(0, 0x100));
        assertThrows(IllegalArgumentException.class, () -> Aml.wordBusNumber(2, 1));
        assertThrows(IllegalArgumentException.class, () -> Aml.wordIo(0, 0x10000));
        assertThrows(IllegalArgumentException.class, () -> Aml.dwordMemory(0, 0x1_0000_0000L));
        assertThrows(IllegalArgumentException.class, () -> Aml.qwordMemory(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> Aml.qwordMemory(0x2000, 0x1000));
    }

    @Test
    void encodesToUuidInAcpiByteOrder() {
        // ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"), the PCI host bridge _OSC UUID
        assertArrayEquals(hex("11 13 0A10 5B4DDB33 F71F 1C40 9657 7441C03DD766"),
                Aml.toUuid("33db4d5b-1ff7-401c-9657-7441c03dd766"));
        assertArrayEquals(Aml.toUuid("33DB4D5B-1FF7-401C-9657-7441C03DD766"),
                Aml.toUuid("33db4d5b-1ff7-401c-9657-7441c03dd766"));
        for (String bad : new String[] {"", "33db4d5b1ff7401c96577441c03dd766", "33db4d5b-1ff7-401c-9657-7441c03dd76",
                "g3db4d5b-1ff7-401c-9657-7441c03dd766"}) {
            assertThrows(IllegalArgumentException.class, () -> Aml.toUuid(bad), bad);
        }
    }

    @Test
    void encodesArgsComparisonsAndTargets() {
        assertArrayEquals(hex("68"), Aml.arg(0));
        assertArrayEquals(hex("6E"), Aml.arg(6));
        assertThrows(IllegalArgumentException.class, () -> Aml.arg(7));
        assertThrows(IllegalArgumentException.class, () -> Aml.arg(-1));
        // (Arg1 == One), (Arg1 != One)
        assertArrayEquals(hex("93 69 01"), Aml.lEqual(Aml.arg(1), Aml.one()));
        assertArrayEquals(hex("92 93 69 01"), Aml.lNotEqual(Aml.arg(1), Aml.one()));
        // Local0 = (CDW3 & 0x1D); CDW1 |= 0x08
        assertArrayEquals(cat(hex("7B"), ascii("CDW3"), hex("0A1D 60")),
                Aml.and(Aml.nameString("CDW3"), Aml.integer(0x1D), Aml.local(0)));
        assertArrayEquals(cat(hex("7D"), ascii("CDW1"), hex("0A08"), ascii("CDW1")),
                Aml.or(Aml.nameString("CDW1"), Aml.integer(8), Aml.nameString("CDW1")));
        // CreateDWordField (Arg3, 0x08, CDW3)
        assertArrayEquals(cat(hex("8A 6B 0A08"), ascii("CDW3")),
                Aml.createDWordField(Aml.arg(3), Aml.integer(8), "CDW3"));
        // Else { Return (Arg3) }
        assertArrayEquals(hex("A1 03 A4 6B"), Aml.elseBlock(Aml.returnValue(Aml.arg(3))));
        assertArrayEquals(hex("A1 01"), Aml.elseBlock());
    }
}
