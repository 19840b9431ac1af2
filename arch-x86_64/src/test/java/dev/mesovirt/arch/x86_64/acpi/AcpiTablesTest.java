package dev.mesovirt.arch.x86_64.acpi;

import static dev.mesovirt.arch.x86_64.acpi.ImageReader.ascii;
import static dev.mesovirt.arch.x86_64.acpi.ImageReader.sum;
import static dev.mesovirt.arch.x86_64.acpi.ImageReader.u16;
import static dev.mesovirt.arch.x86_64.acpi.ImageReader.u32;
import static dev.mesovirt.arch.x86_64.acpi.ImageReader.u64;
import static dev.mesovirt.arch.x86_64.acpi.ImageReader.u8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.acpi.ImageReader.Table;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AcpiTablesTest {

    private final AcpiImage image = AcpiTables.build(Platforms.BASE, Platforms.typical());
    private final byte[] b = image.bytes();
    private final Map<String, Table> tables = ImageReader.tables(image);

    // ------------------------------------------------------------ layout

    @Test
    void rsdpComesFirstAndIs16ByteAligned() {
        assertEquals(Platforms.BASE, image.baseAddress());
        assertEquals(Platforms.BASE, image.rsdpAddress());
        assertEquals(0, image.rsdpAddress() % 16);
        assertEquals("RSD PTR ", ascii(b, 0, 8));
    }

    @Test
    void imageHoldsExactlyTheFiveTablesInOrderWithoutOverlap() {
        assertEquals(List.of("RSDP", "XSDT", "FACP", "APIC", "DSDT"), new ArrayList<>(tables.keySet()));
        List<Table> ordered = tables.values().stream()
                .sorted((x, y) -> Integer.compare(x.offset(), y.offset())).toList();
        for (int i = 0; i < ordered.size(); i++) {
            Table t = ordered.get(i);
            assertEquals(0, (image.baseAddress() + t.offset()) % 16, t.signature() + " alignment");
            if (i > 0) {
                Table prev = ordered.get(i - 1);
                assertTrue(prev.end() <= t.offset(), prev.signature() + " overlaps " + t.signature());
                assertTrue(t.offset() - prev.end() < 16, "gap before " + t.signature() + " exceeds alignment padding");
            }
        }
        assertEquals(image.size(), ordered.get(ordered.size() - 1).end(), "image ends with the last table");
        assertEquals(image.baseAddress() + image.size(), image.endAddress());
    }

    @Test
    void everyTableChecksumsToZero() {
        for (Table t : tables.values()) {
            if (!t.signature().equals("RSDP")) {
                assertEquals(0, sum(b, t.offset(), t.length()), t.signature() + " checksum");
            }
        }
    }

    @Test
    void tableHeadersCarryOemIdsAndRevisions() {
        Map<String, Integer> revisions = Map.of("XSDT", 1, "FACP", 6, "APIC", 6, "DSDT", 2);
        revisions.forEach((sig, rev) -> {
            Table t = tables.get(sig);
            assertEquals(sig, ascii(b, t.offset(), 4));
            assertEquals(t.length(), u32(b, t.offset() + 4));
            assertEquals(rev, u8(b, t.offset() + 8), sig + " revision");
            assertEquals("MESOVT", ascii(b, t.offset() + 10, 6));
            assertEquals("MESOVIRT", ascii(b, t.offset() + 16, 8));
            assertEquals(1, u32(b, t.offset() + 24));
            assertEquals("MSVT", ascii(b, t.offset() + 28, 4));
            assertEquals(1, u32(b, t.offset() + 32));
        });
    }

    // ------------------------------------------------------------ RSDP and XSDT

    @Test
    void rsdpHasRevision2AndBothChecksums() {
        Table rsdp = tables.get("RSDP");
        assertEquals(36, rsdp.length());
        assertEquals(0, sum(b, 0, 20), "ACPI 1.0 checksum over bytes 0..19");
        assertEquals(0, sum(b, 0, 36), "extended checksum over all 36 bytes");
        assertEquals("MESOVT", ascii(b, 9, 6));
        assertEquals(2, u8(b, 15));
        assertEquals(0, u32(b, 16), "no RSDT");
        assertEquals(36, u32(b, 20));
        assertEquals(image.baseAddress() + tables.get("XSDT").offset(), u64(b, 24));
        assertEquals(0, u8(b, 33) | u8(b, 34) | u8(b, 35), "reserved bytes");
    }

    @Test
    void rsdpStandaloneChecksumsHoldForAnyAddress() {
        for (long xsdt : new long[] {0, 0xE0030L, 0xFFFF_FFFF_FFFF_FFF0L, 0x1234_5678_9ABCL}) {
            byte[] rsdp = AcpiTables.rsdp(xsdt);
            assertEquals(0, sum(rsdp, 0, 20));
            assertEquals(0, sum(rsdp, 0, 36));
            assertEquals(xsdt, u64(rsdp, 24));
        }
    }

    @Test
    void xsdtPointsAtFadtAndMadtInsideTheImage() {
        Table xsdt = tables.get("XSDT");
        assertEquals(36 + 2 * 8, xsdt.length());
        long fadt = u64(b, xsdt.offset() + 36);
        long madt = u64(b, xsdt.offset() + 44);
        assertEquals("FACP", ascii(b, ImageReader.offsetOf(image, fadt, 36), 4));
        assertEquals("APIC", ascii(b, ImageReader.offsetOf(image, madt, 36), 4));
    }

    // ------------------------------------------------------------ FADT

    @Test
    void fadtIsRevision6HardwareReducedWithResetRegister() {
        Table f = tables.get("FACP");
        int o = f.offset();
        assertEquals(276, f.length());
        assertEquals(6, u8(b, o + 8));
        assertEquals(5, u8(b, o + 131), "FADT minor revision (ACPI 6.5)");
        assertEquals((1 << 20) | (1 << 10), u32(b, o + 112), "HW_REDUCED_ACPI | RESET_REG_SUP");
        assertEquals(0, u32(b, o + 36), "FIRMWARE_CTRL: no FACS");
        assertEquals(0, u64(b, o + 132), "X_FIRMWARE_CTRL: no FACS");
        assertEquals(0, u16(b, o + 46), "no SCI");
        assertEquals(0, u32(b, o + 48), "no SMI_CMD");
        long dsdt = image.baseAddress() + tables.get("DSDT").offset();
        assertEquals(dsdt, u32(b, o + 40), "DSDT");
        assertEquals(dsdt, u64(b, o + 140), "X_DSDT");
        for (int gas = 148; gas < 244; gas++) {
            assertEquals(0, u8(b, o + gas), "legacy X_ blocks must be empty, byte " + gas);
        }
        assertEquals("MESOVIRT", ascii(b, o + 268, 8), "hypervisor vendor identity");
    }

    @Test
    void fadtRegistersAreByteWideSystemMemoryGas() {
        int o = tables.get("FACP").offset();
        AcpiPlatform.SleepRegisters sleep = Platforms.GED_LIKE;
        assertGas(o + 116, sleep.resetAddress());
        assertEquals(0x42, u8(b, o + 128), "RESET_VALUE");
        assertGas(o + 244, sleep.controlAddress());
        assertGas(o + 256, sleep.statusAddress());
    }

    private void assertGas(int at, long address) {
        assertArrayEquals(new byte[] {0 /* SystemMemory */, 8 /* bits */, 0 /* offset */, 1 /* byte access */},
                java.util.Arrays.copyOfRange(b, at, at + 4));
        assertEquals(address, u64(b, at + 4));
    }

    @Test
    void iapcBootArchFlagsFollowRtcPresence() {
        int withRtc = u16(fadtOf(Platforms.platform(1, 0, Optional.empty(), true)), 109);
        int withoutRtc = u16(fadtOf(Platforms.platform(1, 0, Optional.empty(), false)), 109);
        assertEquals(0b01_1100, withRtc, "VGA not present | MSI not supported | PCIe ASPM controls");
        assertEquals(0b11_1100, withoutRtc, "... | CMOS RTC not present");
    }

    private static byte[] fadtOf(AcpiPlatform p) {
        AcpiImage img = AcpiTables.build(Platforms.BASE, p);
        return ImageReader.slice(img.bytes(), ImageReader.tables(img).get("FACP"));
    }

    @Test
    void s5SleepControlValueIsWhatLinuxWrites() {
        assertEquals(0x34, AcpiTables.S5_SLEEP_CONTROL_VALUE);
    }

    // ------------------------------------------------------------ MADT

    record MadtEntry(int type, int offset, int length) {
    }

    private static List<MadtEntry> madtEntries(byte[] madt) {
        List<MadtEntry> entries = new ArrayList<>();
        int at = 44;
        while (at < madt.length) {
            int length = u8(madt, at + 1);
            assertTrue(length >= 2 && at + length <= madt.length, "MADT entry overruns the table");
            entries.add(new MadtEntry(u8(madt, at), at, length));
            at += length;
        }
        assertEquals(madt.length, at, "MADT entries tile the table exactly");
        return entries;
    }

    @ParameterizedTest(name = "{0} vCPUs")
    @ValueSource(ints = {1, 2, 8, 255})
    void madtDescribesEveryVcpuOneIoApicTheTimerOverrideAndNmi(int vcpus) {
        AcpiPlatform p = Platforms.platform(vcpus, 1, Optional.empty(), false);
        byte[] madt = AcpiTables.madt(p);
        assertEquals(44 + 8 * vcpus + 12 + 10 + 6, madt.length);
        assertEquals(madt.length, u32(madt, 4));
        assertEquals(0, sum(madt, 0, madt.length));
        assertEquals(0xFEE0_0000L, u32(madt, 36), "local APIC address");
        assertEquals(1, u32(madt, 40), "PCAT_COMPAT");

        List<MadtEntry> entries = madtEntries(madt);
        Map<Integer, Long> byType = entries.stream().collect(Collectors.groupingBy(MadtEntry::type, Collectors.counting()));
        assertEquals(Map.of(0, (long) vcpus, 1, 1L, 2, 1L, 4, 1L), byType);

        List<MadtEntry> lapics = entries.stream().filter(e -> e.type() == 0).toList();
        for (int i = 0; i < vcpus; i++) {
            MadtEntry e = lapics.get(i);
            assertEquals(8, e.length());
            assertEquals(i, u8(madt, e.offset() + 2), "processor UID");
            assertEquals(i, u8(madt, e.offset() + 3), "APIC ID");
            assertEquals(1, u32(madt, e.offset() + 4), "enabled");
        }
        MadtEntry io = entries.stream().filter(e -> e.type() == 1).findFirst().orElseThrow();
        assertEquals(12, io.length());
        assertEquals(0, u8(madt, io.offset() + 2));
        assertEquals(0xFEC0_0000L, u32(madt, io.offset() + 4));
        assertEquals(0, u32(madt, io.offset() + 8), "GSI base");

        MadtEntry iso = entries.stream().filter(e -> e.type() == 2).findFirst().orElseThrow();
        assertArrayEquals(HexFormat.of().parseHex("020A0000020000000000"),
                java.util.Arrays.copyOfRange(madt, iso.offset(), iso.offset() + 10), "ISA IRQ0 -> GSI 2, conforming");
        MadtEntry nmi = entries.stream().filter(e -> e.type() == 4).findFirst().orElseThrow();
        assertArrayEquals(HexFormat.of().parseHex("0406FF000001"),
                java.util.Arrays.copyOfRange(madt, nmi.offset(), nmi.offset() + 6), "all CPUs, LINT1");
    }

    @Test
    void madtUsesTheConfiguredIoApic() {
        AcpiPlatform p = new AcpiPlatform(1, 0xFEE0_0000L, 3, 0xFEC0_1000L, 0, AcpiPlatform.SerialPort.com1(),
                List.of(), Platforms.GED_LIKE, Optional.empty(), false, Optional.empty());
        byte[] madt = AcpiTables.madt(p);
        int io = 44 + 8;
        assertEquals(1, u8(madt, io));
        assertEquals(3, u8(madt, io + 2));
        assertEquals(0xFEC0_1000L, u32(madt, io + 4));
    }

    // ------------------------------------------------------------ DSDT

    private static List<String> dsdtNames(AcpiPlatform p) {
        return AmlWalker.walkTable(AcpiTables.dsdt(p)).stream().map(AmlWalker.Named::path).toList();
    }

    @Test
    void dsdtDescribesAllDevices() {
        List<String> names = dsdtNames(Platforms.typical());
        for (String expected : List.of("\\_SB_.COM1", "\\_SB_.COM1._HID", "\\_SB_.COM1._UID", "\\_SB_.COM1._CRS",
                "\\_SB_.RTC_", "\\_SB_.RTC_._HID", "\\_SB_.RTC_._CRS",
                "\\_SB_.PEVT", "\\_SB_.PEVT._HID", "\\_SB_.PEVT._CRS", "\\_SB_.PEVT._STA",
                "\\_SB_.VR00", "\\_SB_.VR00._HID", "\\_SB_.VR00._UID", "\\_SB_.VR00._CCA", "\\_SB_.VR00._CRS",
                "\\_SB_.VR01", "\\_S5_")) {
            assertTrue(names.contains(expected), "DSDT lacks " + expected + ": " + names);
        }
        String text = ascii(AcpiTables.dsdt(Platforms.typical()), 0, AcpiTables.dsdt(Platforms.typical()).length);
        assertTrue(text.contains("LNRO0005"));
        assertTrue(text.contains("QEMU0001"));
    }

    @Test
    void optionalDevicesAreOmittedWhenAbsent() {
        List<String> names = dsdtNames(Platforms.platform(1, 0, Optional.empty(), false));
        List<String> devices = names.stream().filter(n -> n.matches("\\\\_SB_\\.[A-Z0-9_]{4}")).toList();
        assertEquals(List.of("\\_SB_.COM1"), devices);
        assertTrue(names.contains("\\_S5_"));
    }

    @Test
    void virtioDevicesAreNamedWithTwoHexDigits() {
        List<String> names = dsdtNames(Platforms.platform(1, 20, Optional.empty(), false));
        for (String n : List.of("VR00", "VR09", "VR0A", "VR0F", "VR10", "VR13")) {
            assertTrue(names.contains("\\_SB_." + n), n);
        }
        assertFalse(names.contains("\\_SB_.VR14"));
    }

    @Test
    void virtioDeviceCarriesItsWindowAndLevelInterrupt() {
        byte[] dsdt = AcpiTables.dsdt(Platforms.platform(1, 1, Optional.empty(), false));
        // Memory32Fixed (ReadWrite, 0xD0000000, 0x200), Interrupt (Consumer, Level, High, Exclusive) {5}, End
        byte[] crs = HexFormat.of().parseHex("8609000100" + "0000D0" + "00020000" + "8906000101" + "05000000" + "7900");
        assertTrue(indexOf(dsdt, crs) > 0, "virtio _CRS bytes");
    }

    @Test
    void s5PackageIsTheQemuMicrovmOne() {
        byte[] dsdt = AcpiTables.dsdt(Platforms.typical());
        byte[] s5 = HexFormat.of().parseHex("085F53355F" + "1207040A05000000");
        int at = indexOf(dsdt, s5);
        assertEquals(dsdt.length - s5.length, at, "Name (_S5, Package (4) {5, 0, 0, 0}) ends the DSDT");
    }

    @Test
    void pvpanicDeviceDecodesOnePort() {
        byte[] dsdt = AcpiTables.dsdt(Platforms.typical());
        assertTrue(indexOf(dsdt, HexFormat.of().parseHex("4701050505050101" + "7900")) > 0, "IO (Decode16, 0x505...)");
        assertTrue(indexOf(dsdt, HexFormat.of().parseHex("085F535441" + "0A0F")) > 0, "_STA 0x0F");
    }

    @Test
    void everyCrsIsAWellFormedResourceTemplate() {
        // COM1, RTC, PEVT, VR00, VR01, GED
        assertEquals(6, AmlWalker.resourceTemplateCount(AcpiTables.dsdt(Platforms.typical())));
    }

    @Test
    void powerButtonIsAGenericEventDeviceAndAPnp0c0cButton() {
        List<AmlWalker.Named> named = AmlWalker.walkTable(AcpiTables.dsdt(Platforms.typical()));
        for (AmlWalker.Named expected : List.of(
                new AmlWalker.Named("\\_SB_.GED_", "Device"), new AmlWalker.Named("\\_SB_.GED_._HID", "String"),
                new AmlWalker.Named("\\_SB_.GED_._UID", "Integer"), new AmlWalker.Named("\\_SB_.GED_._CRS", "Buffer"),
                new AmlWalker.Named("\\_SB_.GED_.EREG", "OperationRegion"),
                new AmlWalker.Named("\\_SB_.GED_.ESEL", "Field"), new AmlWalker.Named("\\_SB_.GED_._EVT", "Method"),
                new AmlWalker.Named("\\_SB_.PWRB", "Device"), new AmlWalker.Named("\\_SB_.PWRB._HID", "Integer"),
                new AmlWalker.Named("\\_SB_.PWRB._UID", "Integer"))) {
            assertTrue(named.contains(expected), "DSDT lacks " + expected + ": " + named);
        }
        byte[] dsdt = AcpiTables.dsdt(Platforms.typical());
        assertTrue(indexOf(dsdt, "ACPI0013".getBytes(java.nio.charset.StandardCharsets.US_ASCII)) > 0);
        // Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) {9}, End Tag
        assertTrue(indexOf(dsdt, HexFormat.of().parseHex("890600010109000000" + "7900")) > 0, "GED _CRS");
        // OperationRegion (EREG, SystemMemory, 0xFEA00000, 0x04)
        assertTrue(indexOf(dsdt, HexFormat.of().parseHex("5B80" + "45524547" + "00" + "0C0000A0FE" + "0A04")) > 0);
        assertFalse(dsdtNames(Platforms.platform(2, 2, Optional.of(0x505), true)).stream()
                .anyMatch(n -> n.contains("GED_") || n.contains("PWRB")), "no power button, no GED or PWRB");
    }

    /**
     * A DSDT with COM1 and the power button, byte for byte as iasl 20200925 compiles this ASL (iasl shortens
     * {@code \_SB.PWRB} to {@code PWRB} in the Notify):
     * <pre>
     * Scope (_SB) {
     *     Device (COM1) { ... as in AmlTest }
     *     Device (GED) {
     *         Name (_HID, "ACPI0013")
     *         Name (_UID, Zero)
     *         Name (_CRS, ResourceTemplate () { Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) {9} })
     *         OperationRegion (EREG, SystemMemory, 0xFEA00000, 0x04)
     *         Field (EREG, DWordAcc, NoLock, WriteAsZeros) { ESEL, 32 }
     *         Method (_EVT, 1, Serialized) { Local0 = ESEL  If ((Local0 & 0x02)) { Notify (\_SB.PWRB, 0x80) } }
     *     }
     *     Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
     * }
     * Name (_S5, Package (0x04) { 0x05, Zero, Zero, Zero })
     * </pre>
     */
    @Test
    void powerButtonDsdtIsWhatIaslCompiles() {
        byte[] dsdt = AcpiTables.dsdt(Platforms.platform(1, 0, Optional.empty(), false, Optional.of(Platforms.BUTTON)));
        assertEquals(IASL_POWER_BUTTON_DSDT_BODY,
                HexFormat.of().withUpperCase().formatHex(java.util.Arrays.copyOfRange(dsdt, 36, dsdt.length)));
    }

    private static final String IASL_POWER_BUTTON_DSDT_BODY =
            "10410B5F53425F5B822B434F4D31085F4849440C41D00501085F55494400085F43525311100A0D4701F803F803010822"
            + "100079005B8245064745445F085F4849440D414350493030313300085F55494400085F435253110E0A0B890600010109"
            + "00000079005B8045524547000C0000A0FE0A045B810B45524547434553454C20141A5F45565409704553454C60A00D7B"
            + "600A020086505752420A805B821550575242085F4849440C41D00C0C085F55494400085F53355F1207040A05000000";

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    // ------------------------------------------------------------ platforms without PCI stay as they were

    /**
     * Digests taken before the tables could describe a PCI host bridge: the typical fixture's image, and one digest
     * over the images of 200 random platforms (seeded), so that no platform without PCI reads any different.
     */
    @Test
    void imagesWithoutPciAreUnchangedByteForByte() throws Exception {
        java.security.MessageDigest all = java.security.MessageDigest.getInstance("SHA-256");
        assertEquals(TYPICAL_IMAGE_SHA256, HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(image.bytes())));
        java.util.Random rnd = new java.util.Random(0x5EED);
        for (int i = 0; i < 200; i++) {
            all.update(AcpiTables.build(Platforms.randomBase(rnd), Platforms.random(rnd)).bytes());
        }
        assertEquals(RANDOM_IMAGES_SHA256, HexFormat.of().formatHex(all.digest()));
    }

    private static final String TYPICAL_IMAGE_SHA256 = "3e44206eb347ce8ddc37a9dd1fef095685fea2ccc358cb74ac2d1704d8fcffd2";
    private static final String RANDOM_IMAGES_SHA256 = "82171436c7504d905ecdbcb32d98933db3e47046af674c159f07e258246bd891";

    // ------------------------------------------------------------ build arguments and result

    @Test
    void buildIsDeterministicAndTheImageIsDefensivelyCopied() {
        AcpiImage again = AcpiTables.build(Platforms.BASE, Platforms.typical());
        assertEquals(image, again);
        assertEquals(image.hashCode(), again.hashCode());
        byte[] copy = image.bytes();
        assertNotSame(copy, image.bytes());
        copy[0] = 0;
        assertEquals('R', image.bytes()[0]);
    }

    @Test
    void tablesMoveWithTheBaseAddress() {
        AcpiImage moved = AcpiTables.build(0x7FFF_0000L, Platforms.typical());
        Map<String, Table> t = ImageReader.tables(moved);
        assertEquals(tables, t, "same offsets, different base");
        assertEquals(0x7FFF_0000L, moved.rsdpAddress());
    }

    @ParameterizedTest
    @ValueSource(longs = {-16, 0xE0008L, 0xE0001L})
    void rejectsUnalignedOrNegativeBase(long base) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AcpiTables.build(base, Platforms.typical()));
        assertTrue(e.getMessage().contains("16-byte aligned"), e.getMessage());
    }

    @Test
    void rejectsImagesCrossing4GiB() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AcpiTables.build(0xFFFF_FF00L, Platforms.typical()));
        assertTrue(e.getMessage().contains("4 GiB"), e.getMessage());
    }

    @Test
    void largestPlatformFitsTheLegacyBiosArea() {
        AcpiPlatform p = new AcpiPlatform(255, AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0,
                AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0, AcpiPlatform.SerialPort.com1(), Platforms.slots(256),
                Platforms.GED_LIKE, Optional.of(0x505), true,
                Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L, 300))); // the slots have GSIs 5..261
        AcpiImage big = AcpiTables.build(Platforms.BASE, p);
        assertTrue(big.size() <= 128 * 1024, "size " + big.size());
        assertEquals(256, AmlWalker.walkTable(ImageReader.slice(big.bytes(), ImageReader.tables(big).get("DSDT")))
                .stream().filter(n -> n.path().matches("\\\\_SB_\\.VR[0-9A-F]{2}")).count());
    }
}
