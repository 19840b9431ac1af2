package dev.mesovirt.arch.aarch64;

import static dev.mesovirt.acpi.testing.AcpicaTools.run;
import static dev.mesovirt.acpi.testing.AcpicaTools.tool;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.acpi.testing.AcpicaTools;
import dev.mesovirt.acpi.testing.ImageReader;
import dev.mesovirt.acpi.testing.ImageReader.Table;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The arm64 standard machine's ACPI tables: the layout and checksums as a guest walks them (RSDP → XSDT → tables),
 * then each table through ACPICA's disassembler (iasl -d, the parser Linux shares), which must report no error and
 * show the fields the machine's device tree has; the DSDT also compiles back from its disassembly.
 */
class Aarch64AcpiTablesTest {
    private static final long BASE = 0x4800_0000L;

    private static AcpiImage image(int vcpus) throws Exception {
        return Aarch64AcpiTables.build(BASE, Aarch64DeviceTreeTest.virtSpec(vcpus));
    }

    @Test
    void theGuestFindsEveryTableWithGoodChecksums() throws Exception {
        AcpiImage image = image(2);
        assertEquals(BASE, image.rsdpAddress());
        Map<String, Table> tables = ImageReader.tables(image);
        assertEquals(List.of("RSDP", "XSDT", "FACP", "APIC", "GTDT", "MCFG", "SPCR", "IORT", "DSDT"),
                List.copyOf(tables.keySet()));
        byte[] bytes = image.bytes();
        for (Table t : tables.values()) {
            if (!t.signature().equals("RSDP")) {
                assertEquals(0, ImageReader.sum(bytes, t.offset(), t.length()) & 0xff, t.signature() + " checksum");
            }
        }
        assertTrue(image.endAddress() < 0x1_0000_0000L);
    }

    @Test
    void theMachineMustBeTheStandardOne() throws Exception {
        Aarch64DeviceTree.Spec virt = Aarch64DeviceTreeTest.virtSpec(1);
        Aarch64DeviceTree.Spec noIts = new Aarch64DeviceTree.Spec(virt.cpuAffinities(),
                new Aarch64DeviceTree.Gic(Aarch64Architecture.GICD_BASE, 0x1_0000, Aarch64Architecture.GICR_BASE,
                        0x2_0000), virt.guest(), virt.rtc());
        assertThrows(IllegalArgumentException.class, () -> Aarch64AcpiTables.build(BASE, noIts));
        assertThrows(IllegalArgumentException.class, () -> Aarch64AcpiTables.build(BASE + 8, virt));
    }

    private static String disassemble(Path dir, AcpiImage image, String sig) throws Exception {
        Path iasl = tool("iasl");
        Table t = ImageReader.tables(image).get(sig);
        String file = sig.toLowerCase() + ".dat";
        Files.write(dir.resolve(file), ImageReader.slice(image.bytes(), t));
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

    private static void assertHas(String dsl, String... lines) {
        for (String line : lines) {
            assertTrue(dsl.contains(line), "disassembly lacks \"" + line + "\":\n" + dsl);
        }
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void fadtIsHardwareReducedWithPsciOverHvc(@TempDir Path dir) throws Exception {
        String fadt = disassemble(dir, image(2), "FACP");
        assertHas(fadt, "Table Length : 00000114", "Revision : 06", "FADT Minor Revision : 03",
                "Hardware Reduced (V5) : 1", "Reset Register Supported (V2) : 0",
                "PSCI Compliant : 1", "Must use HVC for PSCI : 1");
    }

    @Test
    void madtHasAGiccPerVcpuAndTheGicdGicrIts(@TempDir Path dir) throws Exception {
        String madt = disassemble(dir, image(3), "APIC");
        assertEquals(3, count(madt, "[Generic Interrupt Controller]"), madt);
        assertEquals(1, count(madt, "[Generic Interrupt Distributor]"), madt);
        assertEquals(1, count(madt, "[Generic Interrupt Redistributor]"), madt);
        assertEquals(1, count(madt, "[Generic Interrupt Translator]"), madt);
        // vCPU 2's MPIDR affinity (KVM's reset value: Aff0 = index for the first 16), its UID, the maintenance PPI.
        assertHas(madt, "ARM MPIDR : 0000000000000002", "Processor UID : 00000002",
                "Virtual GIC Interrupt : 00000019", "Base Address : 0000000008000000", "Version : 03",
                "Base Address : 00000000080A0000", "Length : 00060000", "Base Address : 0000000008080000");
        assertTrue(Pattern.compile("Processor Enabled : 1").matcher(madt).results().count() >= 3, madt);
    }

    @Test
    void gtdtNamesTheTimerPpis(@TempDir Path dir) throws Exception {
        String gtdt = disassemble(dir, image(1), "GTDT");
        assertHas(gtdt, "Secure EL1 Interrupt : 0000001D", "Non-Secure EL1 Interrupt : 0000001E",
                "Virtual Timer Interrupt : 0000001B", "Non-Secure EL2 Interrupt : 0000001A",
                "Counter Block Address : FFFFFFFFFFFFFFFF", "Counter Read Block Address : FFFFFFFFFFFFFFFF",
                "Platform Timer Count : 00000000");
        assertEquals(4, count(gtdt, "Trigger Mode : 0"), gtdt);
    }

    @Test
    void mcfgAndSpcrAndIort(@TempDir Path dir) throws Exception {
        AcpiImage image = image(1);
        String mcfg = disassemble(dir, image, "MCFG");
        assertHas(mcfg, "Base Address : 000000003F000000", "Start Bus Number : 00", "End Bus Number : 0F");

        String spcr = disassemble(dir, image, "SPCR");
        assertHas(spcr, "Interface Type : 00", "Address : 0000000009000000", "Bit Width : 08",
                "Interrupt Type : 08", "Interrupt : 00000020", "Baud Rate : 07");

        String iort = disassemble(dir, image, "IORT");
        assertHas(iort, "Node Count : 00000002", "Type : 00", "ItsCount : 00000001", "Identifiers : 00000000",
                "Type : 02", "Cache Coherency : 00000001", "Mapping Count : 00000001", "Input base : 00000000",
                "ID Count : 0000FFFF", "Output Base : 00000000", "Output Reference : 00000030");
    }

    @Test
    void dsdtDescribesCpusUartAndThePciHostBridge(@TempDir Path dir) throws Exception {
        String dsdt = disassemble(dir, image(2), "DSDT");
        assertHas(dsdt, "Device (C000)", "Device (C001)", "Name (_HID, \"ACPI0007\"",
                "Device (COM0)", "EisaId (\"PNP0501\")", "0x09000000,", "0x00000008,",
                "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )",
                "Device (PCI0)", "EisaId (\"PNP0A08\")", "EisaId (\"PNP0A03\")", "Name (_CCA, One)",
                "WordBusNumber (ResourceProducer,", "0x0000,             // Range Minimum",
                "0x000F,             // Range Maximum",
                "0x10000000,         // Range Minimum", "0x3EFEFFFF,         // Range Maximum",
                "0x0000008000000000, // Range Minimum", "0x000000FFFFFFFFFF, // Range Maximum",
                "Method (_OSC, 4, NotSerialized)", "Name (_PRT, Package (0x80)",
                "Device (RES0)", "EisaId (\"PNP0C02\")", "0x3F000000,", "0x01000000,");
        // Device 0's INTA is the bridge's first SPI (1, INTID 33); device 1's INTA is its second (INTID 34).
        assertTrue(Pattern.compile("Package \\(0x04\\)\\s*\\{\\s*0xFFFF,\\s*Zero,\\s*Zero,\\s*0x21\\s*\\}")
                .matcher(dsdt).find(), dsdt);
        assertTrue(Pattern.compile("Package \\(0x04\\)\\s*\\{\\s*0x0001FFFF,\\s*Zero,\\s*Zero,\\s*0x22\\s*\\}")
                .matcher(dsdt).find(), dsdt);
        assertTrue(Pattern.compile("Package \\(0x04\\)\\s*\\{\\s*0x0001FFFF,\\s*0x03,\\s*Zero,\\s*0x21\\s*\\}")
                .matcher(dsdt).find(), dsdt);

        // The disassembly compiles back without a complaint.
        AcpicaTools.Run r = run(dir, tool("iasl").toString(), "-p", "again", "dsdt.dsl");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains(" 0 Errors, 0 Warnings"), r.output());
    }
}
