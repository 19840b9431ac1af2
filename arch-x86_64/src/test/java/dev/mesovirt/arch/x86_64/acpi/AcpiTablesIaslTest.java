package dev.mesovirt.arch.x86_64.acpi;

import static dev.mesovirt.arch.x86_64.acpi.AcpicaTools.run;
import static dev.mesovirt.arch.x86_64.acpi.AcpicaTools.tool;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.arch.x86_64.acpi.ImageReader.Table;
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

    private static final List<String> TABLES = List.of("XSDT", "FACP", "APIC", "DSDT");

    /** Writes each table of {@code image} to {@code <dir>/<sig>.dat}. */
    private static void writeTables(AcpiImage image, Path dir) throws IOException {
        byte[] bytes = image.bytes();
        Map<String, Table> tables = ImageReader.tables(image);
        for (String sig : TABLES) {
            Files.write(dir.resolve(sig.toLowerCase() + ".dat"), ImageReader.slice(bytes, tables.get(sig)));
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
}
