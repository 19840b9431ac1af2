package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * Cross-checks against the reference implementation, {@code dtc} (Debian package
 * device-tree-compiler, tested with 1.6.1). Without dtc the tests are skipped, except when the
 * environment has {@code CI=true}: then they fail, so CI cannot silently lose this coverage.
 */
class DtcInteropTest {

    /** What {@code dtc -I dtb -O dts} prints for {@link TestBlobs#virtTree()}. */
    static final String VIRT_DTS = """
            /dts-v1/;

            /memreserve/\t0x0000000048000000 0x0000000000100000;
            / {
            \tcompatible = "linux,dummy-virt";
            \t#address-cells = <0x02>;
            \t#size-cells = <0x02>;
            \tinterrupt-parent = <0x01>;

            \tchosen {
            \t\tbootargs = "console=ttyS0 root=/dev/vda";
            \t\tstdout-path = "/uart@9000000";
            \t\tlinux,initrd-start = <0x00 0x48000000>;
            \t\tlinux,initrd-end = <0x00 0x48100000>;
            \t};

            \tcpus {
            \t\t#address-cells = <0x01>;
            \t\t#size-cells = <0x00>;

            \t\tcpu@0 {
            \t\t\tdevice_type = "cpu";
            \t\t\tcompatible = "arm,arm-v8";
            \t\t\treg = <0x00>;
            \t\t\tenable-method = "psci";
            \t\t};

            \t\tcpu@1 {
            \t\t\tdevice_type = "cpu";
            \t\t\tcompatible = "arm,arm-v8";
            \t\t\treg = <0x01>;
            \t\t\tenable-method = "psci";
            \t\t};
            \t};

            \tmemory@40000000 {
            \t\tdevice_type = "memory";
            \t\treg = <0x00 0x40000000 0x00 0x10000000>;
            \t};

            \tintc@8000000 {
            \t\tcompatible = "arm,gic-v3";
            \t\t#interrupt-cells = <0x03>;
            \t\t#address-cells = <0x00>;
            \t\tinterrupt-controller;
            \t\treg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0xf60000>;
            \t\tphandle = <0x01>;
            \t};

            \tuart@9000000 {
            \t\tcompatible = "ns16550a\\0ns16550";
            \t\treg = <0x00 0x9000000 0x00 0x1000>;
            \t\tinterrupts = <0x00 0x01 0x04>;
            \t\tclock-frequency = <0x1c2000>;
            \t};
            };
            """;

    private static Path dtc;

    @TempDir
    Path dir;

    @BeforeAll
    static void findDtc() {
        dtc = requireDtc(System.getenv());
    }

    /**
     * Finds {@code dtc} on {@code PATH}. If it is missing, fails when {@code CI=true} and aborts
     * (skips) the tests otherwise.
     */
    static Path requireDtc(Map<String, String> env) {
        String path = env.getOrDefault("PATH", "");
        for (String directory : path.split(File.pathSeparator)) {
            if (directory.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(directory, "dtc");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        String message = "dtc not found on PATH; install it with: apt-get install -y device-tree-compiler";
        if ("true".equalsIgnoreCase(env.get("CI"))) {
            fail(message + " (required because CI=true)");
        }
        Assumptions.abort(message);
        throw new AssertionError("unreachable");
    }

    private record Result(int exitCode, byte[] stdout, String stderr) {
        String text() {
            return new String(stdout, StandardCharsets.UTF_8);
        }
    }

    private Result dtc(byte[] input, String... arguments) throws IOException, InterruptedException {
        Path in = Files.createTempFile(dir, "in", ".bin");
        Path out = Files.createTempFile(dir, "out", ".bin");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Files.write(in, input);
        List<String> command = new ArrayList<>();
        command.add(dtc.toString());
        command.addAll(List.of(arguments));
        command.addAll(List.of("-o", out.toString(), in.toString()));
        Process process = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile())
                .start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("dtc timed out: " + command);
        }
        return new Result(process.exitValue(), Files.readAllBytes(out), Files.readString(err));
    }

    @Test
    void dtcDecompilesTheVirtTreeToTheExpectedSourceWithoutWarnings() throws Exception {
        Result result = dtc(TestBlobs.virtTree(), "-I", "dtb", "-O", "dts");
        assertEquals(0, result.exitCode(), result.stderr());
        assertEquals("", result.stderr(), "dtc reports no warnings for a well-formed tree");
        assertEquals(VIRT_DTS, result.text());
    }

    @Test
    void readerParsesWhatDtcCompilesFromTheSameSource() throws Exception {
        Result result = dtc(VIRT_DTS.getBytes(StandardCharsets.UTF_8), "-I", "dts", "-O", "dtb");
        assertEquals(0, result.exitCode(), result.stderr());
        assertEquals(DeviceTree.parse(TestBlobs.virtTree()), DeviceTree.parse(result.stdout()));
    }

    @Test
    void randomTreesSurviveARoundTripThroughDtc() throws Exception {
        for (int i = 0; i < 40; i++) {
            long seed = RoundTripPropertyTest.BASE_SEED + 10_000 + i;
            RandomTrees.TreeSpec spec = RandomTrees.generate(seed);
            // -f: random trees break dtc's semantic checks (e.g. "reg" shapes), which are not our concern here
            Result result = dtc(RandomTrees.write(spec), "-q", "-f", "-I", "dtb", "-O", "dtb");
            assertEquals(0, result.exitCode(), "seed " + seed + ": " + result.stderr());
            assertEquals(RandomTrees.expected(spec), DeviceTree.parse(result.stdout()), "seed " + seed);
        }
    }

    @Test
    void missingDtcFailsOnCiAndSkipsElsewhere() {
        Map<String, String> noDtc = Map.of("PATH", "/nonexistent-mesovirt-dir");
        assertThrows(TestAbortedException.class, () -> requireDtc(noDtc));
        assertThrows(TestAbortedException.class, () -> requireDtc(Map.of("PATH", "/nonexistent", "CI", "false")));
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> requireDtc(Map.of("PATH", "/nonexistent", "CI", "true")));
        assertTrue(e.getMessage().contains("CI=true"));
    }
}
