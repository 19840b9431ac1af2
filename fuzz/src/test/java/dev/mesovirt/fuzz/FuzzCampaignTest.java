package dev.mesovirt.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The campaign's parts that decide what runs and what a run said (FuzzCampaign itself is the fuzz execution). */
class FuzzCampaignTest {
    /** The project's root: surefire runs this in the fuzz module's directory. */
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void everyTargetIsFoundWithItsMethodAndTheLongRunListsThemAll() throws IOException {
        List<FuzzTargets.Target> found = FuzzTargets.discover(ROOT);
        Set<String> names = found.stream().map(FuzzTargets.Target::toString).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(names.contains("vmm-api:dev.mesovirt.vmm.pci.PciConfigFuzzTarget#guest"), names::toString);
        assertTrue(names.contains("cli:dev.mesovirt.cli.CommandLineFuzzTarget#parse"), names::toString);
        assertEquals(found.size(), names.size(), "a target found twice");
        // ci/fuzz-long.sh has its own list (it runs without Maven): the same targets, so none is left out.
        String script = Files.readString(ROOT.resolve("ci/fuzz-long.sh"));
        Matcher all = Pattern.compile("ALL=\\(\\n(.*?)\\n\\)", Pattern.DOTALL).matcher(script);
        assertTrue(all.find(), "ci/fuzz-long.sh has no ALL=( ... ) list");
        Set<String> listed = new TreeSet<>();
        for (String line : all.group(1).split("\n")) {
            listed.add(line.strip());
        }
        assertEquals(names, listed, "the targets of the build vs those of ci/fuzz-long.sh");
    }

    @Test
    void aFuzzingLogGivesInputsSecondsAndCoverage() {
        String log = """
                INFO: seed corpus: files: 3 min: 1b max: 790b total: 1580b rss: 410Mb
                #4	INITED cov: 230 ft: 700 corp: 3/1580b exec/s: 0 rss: 410Mb
                #158703	DONE   cov: 245 ft: 802 corp: 88/62Kb lim: 2360 exec/s: 39675 rss: 433Mb
                Done 158703 runs in 4 second(s)
                stat::number_of_executed_units: 158703
                stat::average_exec_per_sec:     39675
                test <empty input>: OK
                test small.dtb: OK
                test Fuzzing...: OK
                tests: 3 successful, 0 failed, 0 aborted
                """;
        FuzzRun.Outcome o = FuzzRun.parse(log);
        assertEquals(158703, o.inputs());
        assertEquals(4, o.seconds());
        assertEquals(245, o.coverage());
        assertEquals(3, o.tests());
        assertTrue(o.failures().isEmpty());
        assertTrue(o.artifacts().isEmpty());
    }

    @Test
    void aFindingGivesEachFailedInputAndTheWrittenReproducer() {
        String log = """
                DEDUP_TOKEN: 4390f8b7707482df
                artifact_prefix='/r/vmm-api/src/test/resources/x/TInputs/guest/'; \
                Test unit written to /r/vmm-api/src/test/resources/x/TInputs/guest/crash-da39a3ee
                Done 1 runs in 0 second(s)
                test <empty input>: OK
                test linux-intx: FAILED org.opentest4j.AssertionFailedError: queue_msix_vector after reset
                test Fuzzing...: FAILED org.opentest4j.AssertionFailedError: queue_msix_vector after reset
                tests: 1 successful, 2 failed, 0 aborted
                """;
        FuzzRun.Outcome o = FuzzRun.parse(log);
        assertEquals(List.of(new FuzzRun.Failure("linux-intx",
                "org.opentest4j.AssertionFailedError: queue_msix_vector after reset"), new FuzzRun.Failure(
                "Fuzzing...", "org.opentest4j.AssertionFailedError: queue_msix_vector after reset")), o.failures());
        assertEquals(List.of("/r/vmm-api/src/test/resources/x/TInputs/guest/crash-da39a3ee"), o.artifacts());
        assertEquals(1, o.inputs());
    }

    @Test
    void aReplayOnlyLogHasNoInputCount() {
        FuzzRun.Outcome o = FuzzRun.parse("test <empty input>: OK\ntest seed-0: OK\ntests: 2 successful, 0 failed, 0 aborted\n");
        assertEquals(-1, o.inputs());
        assertEquals(2, o.tests());
        assertTrue(o.failures().isEmpty());
    }

    @Test
    void theTargetRunsOnItsModulesClassPathWithTheBudgetOnlyWhenFuzzing() {
        FuzzTargets.Target t = new FuzzTargets.Target("fdt", "dev.mesovirt.fdt.FdtParserFuzzTarget", "parse");
        Path launcher = ROOT.resolve("fuzz/target/test-classes");
        List<String> fuzzing = FuzzRun.command(Path.of("java"), ROOT, t, launcher, true, 3);
        assertTrue(fuzzing.contains("-Djazzer.internal.arg.1=-max_total_time=3"), fuzzing::toString);
        assertTrue(fuzzing.contains("-XX:+UseSerialGC"), fuzzing::toString);
        String classpath = fuzzing.get(fuzzing.indexOf("-cp") + 1);
        assertTrue(classpath.startsWith(ROOT.resolve("fdt/target/test-classes") + ":"), classpath);
        assertTrue(classpath.endsWith(":" + launcher), classpath);
        assertEquals(List.of(TargetMain.class.getName(), "dev.mesovirt.fdt.FdtParserFuzzTarget"),
                fuzzing.subList(fuzzing.size() - 2, fuzzing.size()));
        List<String> replay = FuzzRun.command(Path.of("java"), ROOT, t, launcher, false, 3);
        assertFalse(replay.stream().anyMatch(a -> a.startsWith("-Djazzer.internal.arg")), replay::toString);
    }
}
