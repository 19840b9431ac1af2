package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.Aml;
import dev.mesovirt.acpi.testing.AmlWalker;
import dev.mesovirt.acpi.testing.ImageReader;

import static dev.mesovirt.acpi.testing.ImageReader.ascii;
import static dev.mesovirt.acpi.testing.ImageReader.sum;
import static dev.mesovirt.acpi.testing.ImageReader.u16;
import static dev.mesovirt.acpi.testing.ImageReader.u32;
import static dev.mesovirt.acpi.testing.ImageReader.u64;
import static dev.mesovirt.acpi.testing.ImageReader.u8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.acpi.testing.ImageReader.Table;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
                List.of(), Platforms.GED_LIKE, Optional.empty(), false, Optional.empty(), Optional.empty());
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

    // ------------------------------------------------------------ PCI host bridge (q35)

    private final AcpiImage q35 = AcpiTables.build(Platforms.BASE, Platforms.q35(Platforms.Q35_BRIDGE));
    private final Map<String, Table> q35Tables = ImageReader.tables(q35);

    private byte[] q35Table(String signature) {
        return ImageReader.slice(q35.bytes(), q35Tables.get(signature));
    }

    /** MCFG for ECAM at 0xB0000000, segment 0, buses 0-255, byte for byte. */
    @Test
    void mcfgIsOneAllocationForSegment0() {
        assertEquals(MCFG_Q35, HexFormat.of().withUpperCase().formatHex(q35Table("MCFG")));
        byte[] small = AcpiTables.mcfg(new AcpiPlatform.PciHostBridge(0xBFF0_0000L, 1, Optional.empty(),
                new AcpiPlatform.Window(0xC000_0000L, 0x1000_0000L), Optional.empty(), List.of(16, 17, 18, 19)));
        assertEquals(60, small.length);
        assertEquals(0xBFF0_0000L, u64(small, 44));
        assertEquals(0, u16(small, 52), "segment");
        assertEquals(0, u8(small, 54), "start bus");
        assertEquals(0, u8(small, 55), "end bus");
        assertEquals(0, sum(small, 0, small.length));
    }

    private static final String MCFG_Q35 = "4D4346473C000000" + "01" + "54" + "4D45534F5654" + "4D45534F56495254"
            + "01000000" + "4D535654" + "01000000"
            + "0000000000000000" // reserved
            + "000000B000000000" + "0000" + "00" + "FF" + "00000000"; // base, segment, buses 0-255, reserved

    @Test
    void q35ImageListsMcfgInTheXsdtBetweenMadtAndDsdt() {
        assertEquals(List.of("RSDP", "XSDT", "FACP", "APIC", "MCFG", "DSDT"), new ArrayList<>(q35Tables.keySet()));
        Table xsdt = q35Tables.get("XSDT");
        assertEquals(36 + 3 * 8, xsdt.length());
        byte[] b = q35.bytes();
        assertEquals(q35.baseAddress() + q35Tables.get("MCFG").offset(), u64(b, xsdt.offset() + 36 + 16));
        for (Table t : q35Tables.values()) {
            assertEquals(0, (q35.baseAddress() + t.offset()) % 16, t.signature() + " alignment");
            if (!t.signature().equals("RSDP")) {
                assertEquals(0, sum(b, t.offset(), t.length()), t.signature() + " checksum");
            }
        }
        assertTrue(q35.size() <= LOW_ACPI_AREA, "q35 image of " + q35.size() + " bytes");
    }

    private static final int LOW_ACPI_AREA = 0x1_FFF0; // 0xE0000 up to the reset vector at 0xFFFF0

    /** With PCI the FADT stops saying "MSI not supported"; everything else stays as on the microVM. */
    @Test
    void q35FadtAllowsMsi() {
        byte[] fadt = q35Table("FACP");
        assertEquals(0b01_0100, u16(fadt, 109), "VGA not present | PCIe ASPM controls, MSI allowed");
        assertEquals((1 << 20) | (1 << 10), u32(fadt, 112), "still HW_REDUCED_ACPI | RESET_REG_SUP");
        assertEquals(0b01_1100, u16(fadtOf(Platforms.platform(1, 0, Optional.empty(), true)), 109),
                "without PCI, MSI not supported as before");
    }

    @Test
    void q35DsdtDescribesTheHostBridgeItsLinksAndTheEcamReservation() {
        List<AmlWalker.Named> named = AmlWalker.walkTable(q35Table("DSDT"));
        for (AmlWalker.Named expected : List.of(
                new AmlWalker.Named("\\_SB_.PCI0", "Device"),
                new AmlWalker.Named("\\_SB_.PCI0._HID", "Integer"), new AmlWalker.Named("\\_SB_.PCI0._CID", "Integer"),
                new AmlWalker.Named("\\_SB_.PCI0._SEG", "Integer"), new AmlWalker.Named("\\_SB_.PCI0._BBN", "Integer"),
                new AmlWalker.Named("\\_SB_.PCI0._UID", "Integer"), new AmlWalker.Named("\\_SB_.PCI0._CRS", "Buffer"),
                new AmlWalker.Named("\\_SB_.PCI0._OSC", "Method"), new AmlWalker.Named("\\_SB_.PCI0._PRT", "Package"),
                new AmlWalker.Named("\\_SB_.ECAM", "Device"), new AmlWalker.Named("\\_SB_.ECAM._HID", "Integer"),
                new AmlWalker.Named("\\_SB_.ECAM._CRS", "Buffer"))) {
            assertTrue(named.contains(expected), "DSDT lacks " + expected + ": " + named);
        }
        Map<String, Object> values = AmlWalker.values(q35Table("DSDT"));
        assertEquals(Aml.eisaIdValue("PNP0A08"), values.get("\\_SB_.PCI0._HID"));
        assertEquals(Aml.eisaIdValue("PNP0A03"), values.get("\\_SB_.PCI0._CID"));
        assertEquals(0L, values.get("\\_SB_.PCI0._SEG"));
        assertEquals(0L, values.get("\\_SB_.PCI0._BBN"));
        assertEquals(0L, values.get("\\_SB_.PCI0._UID"));
        assertFalse(values.containsKey("\\_SB_.PCI0._ADR"), "a device has a _HID or an _ADR, not both");
        assertEquals(Aml.eisaIdValue("PNP0C02"), values.get("\\_SB_.ECAM._HID"));
        // Memory32Fixed (ReadWrite, 0xB0000000, 0x10000000), End Tag
        assertEquals("8609000100" + "0000B0" + "00000010" + "7900",
                HexFormat.of().withUpperCase().formatHex((byte[]) values.get("\\_SB_.ECAM._CRS")));
        // Every _CRS and _PRS of the DSDT tiles into well-formed descriptors: COM1, RTC, PEVT, GED, four links, PCI0,
        // ECAM.
        assertEquals(10, AmlWalker.resourceTemplateCount(q35Table("DSDT")));
    }

    /** The host bridge's _CRS, byte for byte: buses, configuration ports, I/O, 32-bit and 64-bit windows. */
    @Test
    void q35HostBridgeResources() {
        byte[] crs = (byte[]) AmlWalker.values(q35Table("DSDT")).get("\\_SB_.PCI0._CRS");
        assertEquals("880D00020C00" + "0000" + "0000" + "FF00" + "0000" + "0001" // WordBusNumber 0-0xFF
                        + "4701F80CF80C0108" // IO (Decode16, 0xCF8, 0xCF8, 1, 8)
                        + "880D00010C03" + "0000" + "00C0" + "FFFF" + "0000" + "0040" // WordIO 0xC000-0xFFFF
                        + "871700000C01" + "00000000" + "000000C0" + "FFFF9FFE" + "00000000" + "0000A03E" // DWordMemory
                        + "8A2B00000C01" + "0000000000000000" + "0000000001000000" + "FFFFFFFF08000000"
                        + "0000000000000000" + "0000000008000000" // QWordMemory 4 GiB + 32 GiB
                        + "7900",
                HexFormat.of().withUpperCase().formatHex(crs));
        // Without the optional windows, only the bus range, the configuration ports and the 32-bit window remain.
        AcpiPlatform bare = Platforms.q35(new AcpiPlatform.PciHostBridge(0xB000_0000L, 16, Optional.empty(),
                new AcpiPlatform.Window(0xC000_0000L, 0x1000_0000L), Optional.empty(), List.of(16, 17, 18, 19)));
        byte[] bareCrs = (byte[]) AmlWalker.values(AcpiTables.dsdt(bare)).get("\\_SB_.PCI0._CRS");
        assertEquals("880D00020C00" + "0000" + "0000" + "0F00" + "0000" + "1000" + "4701F80CF80C0108"
                        + "871700000C01" + "00000000" + "000000C0" + "FFFFFFCF" + "00000000" + "00000010" + "7900",
                HexFormat.of().withUpperCase().formatHex(bareCrs));
    }

    /**
     * _PRT completeness: 128 entries, one for each device 0..31 and pin INTA..INTD of bus 0, each naming the link
     * device whose only interrupt is the GSI the swizzle gives, {@code gsis[(device + pin) % 4]}. The GSIs are out of
     * order so that a link or line mix-up cannot pass.
     */
    @Test
    void q35RoutingTableCoversEveryDeviceAndPin() {
        List<Integer> gsis = List.of(19, 16, 22, 17);
        AcpiPlatform.PciHostBridge bridge = new AcpiPlatform.PciHostBridge(0xB000_0000L, 256,
                Optional.of(new AcpiPlatform.Window(0xC000, 0x4000)),
                new AcpiPlatform.Window(0xC000_0000L, 0x3EA0_0000L), Optional.empty(), gsis);
        Map<String, Object> values = AmlWalker.values(AcpiTables.dsdt(Platforms.q35(bridge)));
        List<?> prt = (List<?>) values.get("\\_SB_.PCI0._PRT");
        assertEquals(32 * 4, prt.size());
        Set<String> seen = new java.util.HashSet<>();
        for (Object e : prt) {
            List<?> entry = (List<?>) e;
            assertEquals(4, entry.size(), entry.toString());
            long address = (Long) entry.get(0);
            assertEquals(0xFFFF, address & 0xFFFF, "every function of the device");
            int device = (int) (address >>> 16);
            int pin = (int) (long) (Long) entry.get(1);
            assertTrue(device >= 0 && device < 32 && pin >= 0 && pin < 4, entry.toString());
            assertTrue(seen.add(device + "/" + pin), "duplicate entry for device " + device + " pin " + pin);
            String link = ((AmlWalker.Reference) entry.get(2)).name();
            assertEquals(0L, entry.get(3), "source index: the link's first interrupt");
            byte[] crs = (byte[]) values.get("\\_SB_." + link + "._CRS");
            assertEquals(gsis.get((device + pin) % 4), interruptOf(crs), "device " + device + " pin " + pin);
            assertEquals(bridge.intxGsiOf(device, pin), interruptOf(crs));
        }
        assertEquals(128, seen.size());
    }

    /** The GSI of a resource template holding exactly one Interrupt (Level, ActiveHigh, Shared) descriptor. */
    private static int interruptOf(byte[] template) {
        assertEquals(11, template.length, "one Extended Interrupt descriptor and the End Tag");
        assertEquals(0x89, u8(template, 0));
        assertEquals(6, u16(template, 1));
        assertEquals(0x09, u8(template, 3), "consumer, level, active-high, shared");
        assertEquals(1, u8(template, 4), "one interrupt");
        return (int) u32(template, 5);
    }

    @Test
    void q35LinkDevicesAreFixedLevelHighSharedGsis() {
        Map<String, Object> values = AmlWalker.values(q35Table("DSDT"));
        List<String> names = AmlWalker.walkTable(q35Table("DSDT")).stream().map(AmlWalker.Named::path).toList();
        for (int line = 0; line < 4; line++) {
            String link = "\\_SB_.GSI" + (char) ('A' + line);
            assertEquals(Aml.eisaIdValue("PNP0C0F"), values.get(link + "._HID"));
            assertEquals((long) line, values.get(link + "._UID"));
            assertEquals(0x0BL, values.get(link + "._STA"), "present, enabled, functioning");
            assertEquals(16 + line, interruptOf((byte[]) values.get(link + "._CRS")));
            assertArrayEquals((byte[]) values.get(link + "._CRS"), (byte[]) values.get(link + "._PRS"));
            assertTrue(names.contains(link + "._SRS"), "Linux's pci_link always calls _SRS");
            assertFalse(names.contains(link + "._DIS"), "a wired line cannot be disabled");
        }
        assertFalse(names.contains("\\_SB_.GSIE"));
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
                Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L, 300)), // the slots have GSIs 5..261
                Optional.empty());
        AcpiImage big = AcpiTables.build(Platforms.BASE, p);
        assertTrue(big.size() <= 128 * 1024, "size " + big.size());
        assertEquals(256, AmlWalker.walkTable(ImageReader.slice(big.bytes(), ImageReader.tables(big).get("DSDT")))
                .stream().filter(n -> n.path().matches("\\\\_SB_\\.VR[0-9A-F]{2}")).count());
    }
}
