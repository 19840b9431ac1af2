package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.fdt.testing.Dtc;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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

    @BeforeAll
    static void findDtc() {
        Dtc.require(System.getenv());
    }

    @Test
    void dtcDecompilesTheVirtTreeToTheExpectedSourceWithoutWarnings() throws Exception {
        Dtc.Result result = Dtc.decompile(TestBlobs.virtTree());
        assertEquals(0, result.exitCode(), result.stderr());
        assertEquals("", result.stderr(), "dtc reports no warnings for a well-formed tree");
        assertEquals(VIRT_DTS, result.text());
    }

    @Test
    void readerParsesWhatDtcCompilesFromTheSameSource() throws Exception {
        Dtc.Result result = Dtc.run(VIRT_DTS.getBytes(StandardCharsets.UTF_8), "-I", "dts", "-O", "dtb");
        assertEquals(0, result.exitCode(), result.stderr());
        assertEquals(DeviceTree.parse(TestBlobs.virtTree()), DeviceTree.parse(result.output()));
    }

    @Test
    void randomTreesSurviveARoundTripThroughDtc() throws Exception {
        for (int i = 0; i < 40; i++) {
            long seed = RoundTripPropertyTest.BASE_SEED + 10_000 + i;
            RandomTrees.TreeSpec spec = RandomTrees.generate(seed);
            // -f: random trees break dtc's semantic checks (e.g. "reg" shapes), which are not our concern here
            Dtc.Result result = Dtc.run(RandomTrees.write(spec), "-q", "-f", "-I", "dtb", "-O", "dtb");
            assertEquals(0, result.exitCode(), "seed " + seed + ": " + result.stderr());
            assertEquals(RandomTrees.expected(spec), DeviceTree.parse(result.output()), "seed " + seed);
        }
    }

    @Test
    void missingDtcFailsOnCiAndSkipsElsewhere() {
        Map<String, String> noDtc = Map.of("PATH", "/nonexistent-mesovirt-dir");
        assertThrows(TestAbortedException.class, () -> Dtc.require(noDtc));
        assertThrows(TestAbortedException.class, () -> Dtc.require(Map.of("PATH", "/nonexistent", "CI", "false")));
        AssertionFailedError e = assertThrows(AssertionFailedError.class,
                () -> Dtc.require(Map.of("PATH", "/nonexistent", "CI", "true")));
        assertTrue(e.getMessage().contains("CI=true"));
    }
}
