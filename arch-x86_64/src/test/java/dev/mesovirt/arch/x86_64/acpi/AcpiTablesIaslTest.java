package dev.mesovirt.arch.x86_64.acpi;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.Aml;
import dev.mesovirt.acpi.testing.AcpicaTools;
import dev.mesovirt.acpi.testing.ImageReader;

import static dev.mesovirt.acpi.testing.AcpicaTools.run;
import static dev.mesovirt.acpi.testing.AcpicaTools.tool;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.acpi.testing.ImageReader.Table;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks the tables with ACPICA's own tools (Debian package acpica-tools): iasl disassembles and
 * recompiles them, and acpiexec loads FADT + DSDT into the same interpreter Linux uses. Without
 * the tools the tests are skipped, except on CI (CI=true) where that is a failure.
 *
 * <p>The RSDP is not fed to iasl: ACPICA cannot load an RSDP from a file ("Loading an RSDP is not
 * supported", acfileio.c), so its checksums are covered by {@link AcpiTablesTest} instead.
 */
class AcpiTablesIaslTest {

    /** Writes each table of {@code image} but the RSDP to {@code <dir>/<sig>.dat}. */
    private static void writeTables(AcpiImage image, Path dir) throws IOException {
        byte[] bytes = image.bytes();
        for (Table t : ImageReader.tables(image).values()) {
            if (!t.signature().equals("RSDP")) {
                Files.write(dir.resolve(t.signature().toLowerCase() + ".dat"), ImageReader.slice(bytes, t));
            }
        }
    }

    private static String disassemble(Path iasl, Path dir, String sig) throws Exception {
        String file = sig.toLowerCase() + ".dat";
        AcpicaTools.Run r = run(dir, iasl.toString(), "-d", file);
        assertEquals(0, r.exit(), "iasl -d " + file + " failed:\n" + r.output());
        assertFalse(r.output().contains("Error"), "iasl -d " + file + " reported errors:\n" + r.output());
        assertFalse(r.output().contains("Warning"), "iasl -d " + file + " reported warnings:\n" + r.output());
        String dsl = Files.readString(dir.resolve(sig.toLowerCase() + ".dsl"), StandardCharsets.ISO_8859_1);
        for (String bad : List.of("Incorrect checksum", "terminates", "Unknown", "Invalid", "**** ")) {
            assertFalse(dsl.contains(bad), sig + " disassembly contains \"" + bad + "\":\n" + dsl);
        }
        return dsl;
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void iaslDisassemblesEveryTableWithoutErrors(@TempDir Path dir) throws Exception {
        Path iasl = tool("iasl");
        writeTables(AcpiTables.build(Platforms.BASE, Platforms.typical()), dir);

        String dsdt = disassemble(iasl, dir, "DSDT");
        for (String expected : List.of(
                "DefinitionBlock (\"\", \"DSDT\", 2, \"MESOVT\", \"MESOVIRT\", 0x00000001)",
                "Scope (_SB)",
                "Device (COM1)", "EisaId (\"PNP0501\")", "IRQNoFlags ()",
                "Device (RTC)", "EisaId (\"PNP0B00\")",
                "Device (PEVT)", "\"QEMU0001\"", "Name (_STA, 0x0F)",
                "Device (VR00)", "Device (VR01)", "\"LNRO0005\"", "Name (_CCA, One)",
                "Memory32Fixed (ReadWrite,", "0xD0000000,", "0xD0001000,", "0x00000200,",
                "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )", "0x00000005,", "0x00000006,",
                "Name (_S5, Package (0x04)",
                "Device (GED)", "Name (_HID, \"ACPI0013\" /* Generic Event Device */)", "0x00000009,",
                "OperationRegion (EREG, SystemMemory, 0xFEA00000, 0x04)",
                "Field (EREG, DWordAcc, NoLock, WriteAsZeros)", "ESEL,   32",
                "Method (_EVT, 1, Serialized)", "Local0 = ESEL", "If ((Local0 & 0x02))", "Notify (PWRB, 0x80)",
                "Device (PWRB)", "EisaId (\"PNP0C0C\")")) {
            assertTrue(dsdt.contains(expected), "DSDT disassembly lacks " + expected + ":\n" + dsdt);
        }
        assertEquals(3, count(dsdt, "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )"), dsdt);
        assertTrue(Pattern.compile("IO \\(Decode16,\\s+0x03F8,\\s+// Range Minimum\\s+0x03F8,.*?0x01,.*?0x08,",
                Pattern.DOTALL).matcher(dsdt).find(), "COM1 IO resource:\n" + dsdt);
        assertEquals(2, count(dsdt, "LNRO0005"));

        String fadt = disassemble(iasl, dir, "FACP");
        for (String expected : List.of("Table Length : 00000114", "Revision : 06", "FADT Minor Revision : 05",
                "Reset Register Supported (V2) : 1", "Hardware Reduced (V5) : 1",
                "VGA Not Present (V4) : 1", "MSI Not Supported (V4) : 1", "CMOS RTC Not Present (V5) : 0",
                "Sleep Control Register", "Address : 00000000FEA00200",
                "Sleep Status Register", "Address : 00000000FEA00201",
                "Address : 00000000FEA00202", "Value to cause reset : 42", "Encoded Access Width : 01 [Byte Access:8]")) {
            assertTrue(fadt.contains(expected), "FADT disassembly lacks " + expected + ":\n" + fadt);
        }

        String madt = disassemble(iasl, dir, "APIC");
        assertEquals(2, count(madt, "[Processor Local APIC]"), madt);
        assertEquals(1, count(madt, "[I/O APIC]"), madt);
        assertEquals(1, count(madt, "[Interrupt Source Override]"), madt);
        assertEquals(1, count(madt, "[Local APIC NMI]"), madt);
        assertTrue(madt.contains("PC-AT Compatibility : 1"), madt);

        String xsdt = disassemble(iasl, dir, "XSDT");
        assertEquals(2, count(xsdt, "ACPI Table Address"), xsdt);
    }

    /** Recompiling iasl's disassembly must give back our AML body byte for byte. */
    @Test
    void recompiledDisassemblyIsIdenticalAml(@TempDir Path dir) throws Exception {
        assertRoundTrip(tool("iasl"), dir, AcpiTables.build(Platforms.BASE, Platforms.typical()));
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 0xC0FFEE})
    void randomPlatformsRoundTripThroughIasl(long seed, @TempDir Path dir) throws Exception {
        Path iasl = tool("iasl");
        Random rnd = new Random(seed);
        AcpiImage image = AcpiTables.build(Platforms.randomBase(rnd), Platforms.random(rnd));
        assertRoundTrip(iasl, dir, image);
        disassemble(iasl, dir, "FACP");
        disassemble(iasl, dir, "APIC");
    }

    private static void assertRoundTrip(Path iasl, Path dir, AcpiImage image) throws Exception {
        writeTables(image, dir);
        disassemble(iasl, dir, "DSDT");
        AcpicaTools.Run r = run(dir, iasl.toString(), "-p", "recompiled", "dsdt.dsl");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("0 Errors, 0 Warnings"), r.output());
        byte[] ours = Files.readAllBytes(dir.resolve("dsdt.dat"));
        byte[] theirs = Files.readAllBytes(dir.resolve("recompiled.aml"));
        assertEquals(ours.length, theirs.length, "AML length after iasl round trip");
        assertArrayEquals(Arrays.copyOfRange(ours, 36, ours.length), Arrays.copyOfRange(theirs, 36, theirs.length),
                "AML body after iasl round trip");
    }

    /** ACPICA's interpreter (as in Linux) loads the DSDT and evaluates the objects the kernel uses. */
    @Test
    void acpicaInterpreterEvaluatesTheNamespace(@TempDir Path dir) throws Exception {
        tool("iasl");
        Path acpiexec = tool("acpiexec");
        writeTables(AcpiTables.build(Platforms.BASE, Platforms.typical()), dir);
        List<String> objects = List.of("_S5", "_SB.COM1._HID", "_SB.COM1._CRS", "_SB.RTC._CRS", "_SB.PEVT._HID",
                "_SB.PEVT._STA", "_SB.PEVT._CRS", "_SB.VR00._HID", "_SB.VR00._UID", "_SB.VR00._CCA", "_SB.VR00._CRS",
                "_SB.VR01._UID", "_SB.VR01._CRS", "_SB.GED._HID", "_SB.GED._UID", "_SB.GED._CRS", "_SB.PWRB._HID",
                "_SB.PWRB._UID");
        List<String> commands = new ArrayList<>();
        for (String o : objects) {
            commands.add("evaluate " + o);
        }
        AcpicaTools.Run r = run(dir, acpiexec.toString(), "-b", String.join("; ", commands), "facp.dat", "dsdt.dat");
        String out = r.output();
        assertEquals(0, r.exit(), out);
        for (String bad : List.of("ACPI Error", "ACPI Warning", "ACPI Exception", "AE_")) {
            assertFalse(out.contains(bad), "acpiexec reported \"" + bad + "\":\n" + out);
        }
        assertTrue(out.contains("FACP") && out.contains("DSDT"), out);
        for (String o : objects) {
            assertTrue(out.contains("Evaluation of \\" + o + " returned object"), o + " not evaluated:\n" + out);
        }
        Matcher s5 = Pattern.compile("Evaluation of \\\\_S5 returned.*?Contains 4 Elements:\\s+"
                + "\\[Integer\\] = 0000000000000005", Pattern.DOTALL).matcher(out);
        assertTrue(s5.find(), "_S5 must start with SLP_TYP 5:\n" + out);
        assertTrue(out.contains("[Integer] = 000000000105D041"), "COM1 _HID EisaId:\n" + out);
        assertTrue(out.contains("[Integer] = 000000000000000F"), "PEVT _STA:\n" + out);
        assertTrue(out.contains("[String] Length 08 = \"LNRO0005\"") || out.contains("\"LNRO0005\""), out);
    }

    /**
     * ACPICA runs the GED's {@code _EVT} as Linux's evged does on the interrupt. acpiexec backs the selector's
     * SystemMemory region with a buffer filled with {@code -fv}: with the power-button bit set, {@code _EVT}
     * notifies PWRB with 0x80 (what Linux's button driver turns into KEY_POWER); with every other bit set, nothing.
     */
    @Test
    void acpicaRunsTheGedEventMethod(@TempDir Path dir) throws Exception {
        tool("iasl");
        Path acpiexec = tool("acpiexec");
        writeTables(AcpiTables.build(Platforms.BASE, Platforms.typical()), dir);
        String notified = "Received a Device Notify on [PWRB]";
        int bit = AcpiTables.GED_POWER_BUTTON_EVENT;
        for (int fill : new int[] {bit, 0xFF, 0xFF & ~bit, 0}) {
            AcpicaTools.Run r = run(dir, acpiexec.toString(), "-fv", "0x" + Integer.toHexString(fill), "-b",
                    "execute \\_SB.GED._EVT 9", "facp.dat", "dsdt.dat");
            String out = r.output();
            assertEquals(0, r.exit(), out);
            for (String bad : List.of("ACPI Error", "ACPI Warning", "ACPI Exception", "AE_")) {
                assertFalse(out.contains(bad), "acpiexec reported \"" + bad + "\":\n" + out);
            }
            assertTrue(out.contains("Evaluating \\_SB.GED._EVT"), out);
            boolean pressed = (fill & bit) != 0;
            assertEquals(pressed ? 1 : 0, count(out, notified), "selector bytes 0x" + Integer.toHexString(fill)
                    + ":\n" + out);
            if (pressed) {
                assertTrue(out.contains(notified + " ") && out.contains("Value 0x80"), out);
            }
        }
    }

    @Test
    void madtDisassemblyScalesWithVcpus(@TempDir Path dir) throws Exception {
        Path iasl = tool("iasl");
        for (int vcpus : new int[] {1, 8, 64}) {
            writeTables(AcpiTables.build(Platforms.BASE, Platforms.platform(vcpus, 0, Optional.empty(), false)), dir);
            String madt = disassemble(iasl, dir, "APIC");
            assertEquals(vcpus, count(madt, "[Processor Local APIC]"), "vcpus=" + vcpus);
            String fadt = disassemble(iasl, dir, "FACP");
            assertTrue(fadt.contains("CMOS RTC Not Present (V5) : 1"), fadt);
        }
    }

    // ------------------------------------------------------------ q35: the PCI host bridge

    private static final AcpiImage Q35 = AcpiTables.build(Platforms.BASE, Platforms.q35(Platforms.Q35_BRIDGE));

    @Test
    void iaslDisassemblesTheQ35TablesWithoutErrors(@TempDir Path dir) throws Exception {
        Path iasl = tool("iasl");
        writeTables(Q35, dir);
        String dsdt = disassemble(iasl, dir, "DSDT");
        for (String expected : List.of(
                "Device (PCI0)", "Name (_HID, EisaId (\"PNP0A08\") /* PCI Express Bus */)",
                "Name (_CID, EisaId (\"PNP0A03\") /* PCI Bus */)", "Name (_SEG, Zero)", "Name (_BBN, Zero)",
                "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
                "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
                "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
                "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,",
                "0xFE9FFFFF,         // Range Maximum", "0x00000008FFFFFFFF, // Range Maximum",
                "Method (_OSC, 4, NotSerialized)", "CreateDWordField (Arg3, Zero, CDW1)",
                "If ((Arg0 == ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\") /* PCI Host Bridge Device */))",
                "Local0 = (CDW3 & 0x1D)", "CDW1 |= 0x10", "Return (Arg3)",
                "Name (_PRT, Package (0x80)", "Device (GSIA)", "Device (GSID)",
                "EisaId (\"PNP0C0F\") /* PCI Interrupt Link Device */",
                "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, )", "Method (_SRS, 1, NotSerialized)",
                "Device (ECAM)", "EisaId (\"PNP0C02\") /* PNP Motherboard Resources */",
                "Memory32Fixed (ReadWrite,", "0xB0000000,         // Address Base")) {
            assertTrue(dsdt.contains(expected), "DSDT disassembly lacks " + expected + ":\n" + dsdt);
        }
        assertEquals(8, count(dsdt, "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, )"), "_PRS and _CRS");
        assertEquals(128 + 1, count(dsdt, "Package (0x04)"), "128 _PRT entries and _S5");

        String mcfg = disassemble(iasl, dir, "MCFG");
        for (String expected : List.of("Signature : \"MCFG\"", "Table Length : 0000003C", "Revision : 01",
                "Base Address : 00000000B0000000", "Segment Group Number : 0000", "Start Bus Number : 00",
                "End Bus Number : FF")) {
            assertTrue(mcfg.contains(expected), "MCFG disassembly lacks " + expected + ":\n" + mcfg);
        }
        String fadt = disassemble(iasl, dir, "FACP");
        assertTrue(fadt.contains("MSI Not Supported (V4) : 0"), fadt);
        assertTrue(fadt.contains("Hardware Reduced (V5) : 1"), fadt);
        String xsdt = disassemble(iasl, dir, "XSDT");
        assertEquals(3, count(xsdt, "ACPI Table Address"), xsdt);
        disassemble(iasl, dir, "APIC");
    }

    @Test
    void q35DsdtRecompilesToIdenticalAml(@TempDir Path dir) throws Exception {
        assertRoundTrip(tool("iasl"), dir, Q35);
    }

    /** Random bridges (bus counts, ECAM placement, optional windows, GSI order) on random platforms. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {7, 8, 0xB0000000L})
    void randomQ35PlatformsRoundTripThroughIasl(long seed, @TempDir Path dir) throws Exception {
        Path iasl = tool("iasl");
        Random rnd = new Random(seed);
        AcpiImage image = AcpiTables.build(Platforms.randomBase(rnd), Platforms.randomQ35(rnd));
        assertRoundTrip(iasl, dir, image);
        disassemble(iasl, dir, "MCFG");
        disassemble(iasl, dir, "FACP");
    }

    /** Runs {@code _OSC} with the PCI host bridge UUID (or {@code uuid}), revision, three DWORDs, and the buffer. */
    private static int[] osc(Path dir, String uuid, int revision, int status, int support, int control)
            throws Exception {
        byte[] uuidBuffer = Aml.toUuid(uuid);
        String arg0 = bytesArg(Arrays.copyOfRange(uuidBuffer, uuidBuffer.length - 16, uuidBuffer.length));
        java.nio.ByteBuffer caps = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(status).putInt(support).putInt(control);
        String command = "evaluate \\_SB.PCI0._OSC " + arg0 + " " + revision + " 3 " + bytesArg(caps.array());
        AcpicaTools.Run r = run(dir, tool("acpiexec").toString(), "-b", command, "facp.dat", "dsdt.dat");
        assertAcpicaClean(r);
        Matcher m = Pattern.compile("Evaluation of \\\\_SB.PCI0._OSC returned object.*?\\[Buffer\\] Length 0C =\\s+"
                + "0000: ((?:[0-9A-F]{2} ){12})", Pattern.DOTALL).matcher(r.output());
        assertTrue(m.find(), command + ":\n" + r.output());
        java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap(java.util.HexFormat.of().parseHex(
                m.group(1).replace(" ", ""))).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return new int[] {out.getInt(), out.getInt(), out.getInt()};
    }

    private static String bytesArg(byte[] bytes) {
        StringBuilder sb = new StringBuilder("(");
        for (byte b : bytes) {
            sb.append(String.format("%02x ", b & 0xFF));
        }
        return sb.append(')').toString();
    }

    private static void assertAcpicaClean(AcpicaTools.Run r) {
        assertEquals(0, r.exit(), r.output());
        for (String bad : List.of("ACPI Error", "ACPI Warning", "ACPI Exception", "AE_")) {
            assertFalse(r.output().contains(bad), "acpiexec reported \"" + bad + "\":\n" + r.output());
        }
    }

    /**
     * ACPICA runs the host bridge's _OSC as Linux's negotiate_os_control does: a query for everything Linux asks
     * (hot-plug, SHPC, PME, AER, PCIe capability, LTR, DPC) comes back masked to 0x1D with "capabilities masked"
     * (tolerated in a query); the query for 0x1D and then the request for it come back clean, so Linux controls
     * native hot-plug, PME, AER and the PCIe capability. A foreign UUID or another revision is flagged.
     */
    @Test
    void acpicaNegotiatesOscAsLinuxDoes(@TempDir Path dir) throws Exception {
        tool("iasl");
        writeTables(Q35, dir);
        String pci = AcpiTables.PCI_HOST_BRIDGE_OSC_UUID;
        int query = 1;
        int linuxSupport = 0x1F; // ExtendedConfig ASPM ClockPM Segments MSI
        int linuxWants = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x80;
        assertArrayEquals(new int[] {query | 0x10, linuxSupport, 0x1D}, osc(dir, pci, 1, query, linuxSupport, linuxWants));
        assertArrayEquals(new int[] {query, linuxSupport, 0x1D}, osc(dir, pci, 1, query, linuxSupport, 0x1D));
        assertArrayEquals(new int[] {0, linuxSupport, 0x1D}, osc(dir, pci, 1, 0, linuxSupport, 0x1D));
        assertArrayEquals(new int[] {0, linuxSupport, 0x10}, osc(dir, pci, 1, 0, linuxSupport, 0x10));
        // A request beyond the grant is masked and flagged, which Linux would take as a refusal.
        assertArrayEquals(new int[] {0x10, linuxSupport, 0x1D}, osc(dir, pci, 1, 0, linuxSupport, 0x3F));
        // Unknown revision: flagged, the control mask still applied.
        assertArrayEquals(new int[] {0x08, linuxSupport, 0x1D}, osc(dir, pci, 2, 0, linuxSupport, 0x1D));
        // Unknown UUID (CXL's _OSC): flagged, the buffer otherwise untouched.
        assertArrayEquals(new int[] {0x04, linuxSupport, 0xFF},
                osc(dir, "68f2d50b-c469-4d8a-bd3d-941a103fd3fc", 1, 0, linuxSupport, 0xFF));
    }

    /**
     * ACPICA loads the _PRT with every link name resolved to a device (what Linux's acpi_pci_irq_add_prt gets), and
     * each of the 128 entries leads, through its link's _CRS, to the GSI the swizzle gives. The bridge's GSIs are
     * out of order so that no line mix-up passes.
     */
    @Test
    void acpicaResolvesTheRoutingTableToTheSwizzledGsis(@TempDir Path dir) throws Exception {
        tool("iasl");
        Path acpiexec = tool("acpiexec");
        AcpiPlatform.PciHostBridge bridge = new AcpiPlatform.PciHostBridge(0xB000_0000L, 256,
                Platforms.Q35_BRIDGE.io(), Platforms.Q35_BRIDGE.mmio32(), Platforms.Q35_BRIDGE.mmio64(),
                List.of(21, 16, 23, 18));
        writeTables(AcpiTables.build(Platforms.BASE, Platforms.q35(bridge)), dir);

        Map<String, Integer> linkGsi = new java.util.HashMap<>();
        for (int line = 0; line < 4; line++) {
            String link = "\\_SB.GSI" + (char) ('A' + line);
            AcpicaTools.Run r = run(dir, acpiexec.toString(), "-b", "resources " + link, "facp.dat", "dsdt.dat");
            assertAcpicaClean(r);
            String out = r.output();
            // _CRS, _PRS and a _SRS with the current setting, through ACPICA's resource manager as in Linux.
            assertTrue(out.contains("Evaluating _CRS") && out.contains("Evaluating _PRS")
                    && out.contains("Evaluating _SRS"), out);
            assertEquals(2, count(out, "Triggering : Level"), out);
            assertEquals(2, count(out, "Polarity : ActiveHigh"), out);
            assertEquals(2, count(out, "Sharing : Shared"), out);
            Matcher m = Pattern.compile("Dword00 : ([0-9A-F]{8})").matcher(out);
            assertTrue(m.find(), out);
            linkGsi.put(link, Integer.parseInt(m.group(1), 16));
            assertEquals(bridge.intxGsis().get(line), linkGsi.get(link));
        }

        AcpicaTools.Run r = run(dir, acpiexec.toString(), "-b", "dump \\_SB.PCI0._PRT", "facp.dat", "dsdt.dat");
        assertAcpicaClean(r);
        assertTrue(r.output().contains("Element Count : 00000080"), r.output());
        Matcher m = Pattern.compile("\\[Package\\] Contains 4 Elements:\\s+"
                + "\\[00\\] \\S+ \\[Integer\\] = ([0-9A-F]{16})\\s+"
                + "\\[01\\] \\S+ \\[Integer\\] = ([0-9A-F]{16})\\s+"
                + "\\[02\\] \\S+ \\[Object Reference\\] Class \\[Named Object\\] \\S+ Device: (\\S+)\\s+"
                + "\\[03\\] \\S+ \\[Integer\\] = ([0-9A-F]{16})").matcher(r.output());
        java.util.Set<String> seen = new java.util.HashSet<>();
        while (m.find()) {
            long address = Long.parseLong(m.group(1), 16);
            int device = (int) (address >>> 16);
            int pin = Integer.parseInt(m.group(2), 16);
            assertEquals(0xFFFF, address & 0xFFFF);
            assertEquals(0, Long.parseLong(m.group(4), 16));
            assertTrue(seen.add(device + "/" + pin), "entry for device " + device + " pin " + pin + " twice");
            assertEquals(bridge.intxGsis().get((device + pin) % 4), linkGsi.get(m.group(3)),
                    "device " + device + " pin " + pin + " via " + m.group(3));
        }
        assertEquals(128, seen.size(), r.output());
    }

    @Test
    void acpicaEvaluatesTheQ35Namespace(@TempDir Path dir) throws Exception {
        tool("iasl");
        Path acpiexec = tool("acpiexec");
        writeTables(Q35, dir);
        List<String> objects = List.of("_SB.PCI0._HID", "_SB.PCI0._CID", "_SB.PCI0._SEG", "_SB.PCI0._BBN",
                "_SB.PCI0._UID", "_SB.PCI0._CRS", "_SB.GSIA._STA", "_SB.ECAM._HID", "_SB.ECAM._CRS");
        List<String> commands = new ArrayList<>();
        for (String o : objects) {
            commands.add("evaluate " + o);
        }
        AcpicaTools.Run r = run(dir, acpiexec.toString(), "-b", String.join("; ", commands), "facp.dat", "dsdt.dat");
        assertAcpicaClean(r);
        for (String o : objects) {
            assertTrue(r.output().contains("Evaluation of \\" + o + " returned object"), o + ":\n" + r.output());
        }
        assertTrue(r.output().contains("[Integer] = 00000000080AD041"), "PNP0A08:\n" + r.output());
        assertTrue(r.output().contains("[Integer] = 00000000030AD041"), "PNP0A03:\n" + r.output());
        assertTrue(r.output().contains("86 09 00 01 00 00 00 B0 00 00 00 10 79 00"), "ECAM _CRS:\n" + r.output());
    }
}
