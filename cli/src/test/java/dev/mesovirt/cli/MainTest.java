package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.machine.MachineException;
import dev.mesovirt.vmm.seccomp.SeccompFilter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Main's paths that don't boot a machine: help, version, usage errors, logging set-up. */
class MainTest {
    private static final String[] PROPERTIES = {"defaultLogLevel", "logFile", "showDateTime", "dateTimeFormat",
        "showShortLogName", "levelInBrackets"};

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @AfterEach
    void clearLoggingProperties() {
        for (String p : PROPERTIES) {
            System.clearProperty("org.slf4j.simpleLogger." + p);
        }
    }

    private int main(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return Main.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** govmm (Kata Containers' QMP client) refuses a greeting below QEMU 5.0: Mesovirt greets as StratoVirt does. */
    @Test
    void qmpGreetsWithStratovirtsQemuVersionAndItsOwnPackage() {
        dev.mesovirt.vmm.qmp.QmpVersion v = Main.qmpVersion();
        assertEquals(5, v.major());
        assertEquals(0, v.minor());
        assertEquals(1, v.micro());
        assertTrue(v.pkg().startsWith("Mesovirt "), v.pkg());
    }

    @Test
    void helpGoesToStdout() {
        assertEquals(0, main("--help"));
        assertEquals(CommandLine.helpText(), out());
        assertEquals("", err());
    }

    @Test
    void versionGoesToStdout() {
        assertEquals(0, main("-V"));
        assertTrue(out().startsWith("mesovirt "), out());
        assertEquals("", err());
    }

    @Test
    void usageErrorIsOneLineOnStderr() {
        assertEquals(1, main("-kernel", "/nonexistent"));
        assertEquals("mesovirt: -kernel /nonexistent: no such file" + System.lineSeparator(), err());
        assertEquals("", out());
    }

    @Test
    void noArguments() {
        assertEquals(1, main());
        assertEquals("mesovirt: no kernel: -kernel FILE is required (try --help)" + System.lineSeparator(), err());
    }

    @Test
    void badLogLevel() {
        assertEquals("MESOVIRT_LOG=loud: unknown log level (expected trace, debug, info, warn, error or off)",
                Main.configureLogging(Optional.empty(), false, "loud"));
        assertNull(System.getProperty("org.slf4j.simpleLogger.defaultLogLevel"));
    }

    @Test
    void unwritableLogFile(@TempDir Path dir) {
        String message = Main.configureLogging(Optional.of(dir.resolve("no/such/dir/log")), true, null);
        assertTrue(message.startsWith("-D " + dir.resolve("no/such/dir/log") + ": cannot open the log file"), message);
        assertNull(System.getProperty("org.slf4j.simpleLogger.logFile"));
    }

    @Test
    void defaultLogging() {
        assertNull(Main.configureLogging(Optional.empty(), false, null));
        assertEquals("warn", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel"));
        assertEquals("System.err", System.getProperty("org.slf4j.simpleLogger.logFile"));
        assertEquals("true", System.getProperty("org.slf4j.simpleLogger.showDateTime"));
    }

    @Test
    void dashDToStderr() {
        assertNull(Main.configureLogging(Optional.empty(), true, ""));
        assertEquals("info", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel"));
        assertEquals("System.err", System.getProperty("org.slf4j.simpleLogger.logFile"));
    }

    @Test
    void dashDToFileWithEnvironmentLevel(@TempDir Path dir) {
        Path log = dir.resolve("vmm.log");
        assertNull(Main.configureLogging(Optional.of(log), true, " DEBUG "));
        assertEquals("debug", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel"));
        assertEquals(log.toString(), System.getProperty("org.slf4j.simpleLogger.logFile"));
        assertTrue(Files.isRegularFile(log));
    }

    @Test
    void explicitPropertiesWin() {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        assertNull(Main.configureLogging(Optional.empty(), true, null));
        assertEquals("error", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel"));
    }

    @Test
    void seccompModeFromTheEnvironment() {
        assertEquals(SeccompFilter.Mode.KILL, Main.seccompMode(null));
        assertEquals(SeccompFilter.Mode.KILL, Main.seccompMode(""));
        assertEquals(SeccompFilter.Mode.KILL, Main.seccompMode("kill"));
        assertEquals(SeccompFilter.Mode.LOG, Main.seccompMode("log"));
        assertNull(Main.seccompMode("off")); // -disable-seccomp turns it off, not the environment
    }

    /** The standard machine of another ISA is refused before anything is built: q35 off x86_64, virt off aarch64. */
    @Test
    void aMachineTypeTheHostsArchitectureLacks(@TempDir Path dir) throws Exception {
        Architecture host = Architectures.host();
        String foreign = host.machineTypes().containsKey("q35") ? "virt" : "q35";
        Path kernel = Files.write(dir.resolve("vmlinuz"), new byte[4096]);
        assertEquals(Main.EXIT_USAGE, main("-machine", foreign, "-kernel", kernel.toString()));
        String expected = "mesovirt: -machine " + foreign + ": not a machine type of " + host.name() + " (it has: "
                + String.join(", ", new TreeSet<>(host.machineTypes().keySet())) + ")";
        assertEquals(expected, err.toString(StandardCharsets.UTF_8).strip());
        for (String name : host.machineTypes().keySet()) {
            Main.checkMachineType(host, name);
        }
        Architecture arm = Architectures.available().stream().filter(a -> a.name().equals("aarch64")).findFirst()
                .orElseThrow();
        Main.checkMachineType(arm, "virt");
        assertEquals("-machine q35: not a machine type of aarch64 (it has: microvm, virt)",
                assertThrows(MachineException.class, () -> Main.checkMachineType(arm, "q35")).getMessage());
    }
}
