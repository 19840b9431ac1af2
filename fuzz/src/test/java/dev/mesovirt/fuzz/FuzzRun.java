package dev.mesovirt.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One target's run in a JVM of its own: {@link TargetMain} on the module's test class path, in the module's
 * directory (so that Jazzer finds the inputs directory under src/test/resources, writes a crash's reproducer there and
 * keeps its corpus in the module's .cifuzz-corpus/), its whole output in a log file; and what that log says.
 */
final class FuzzRun {
    /**
     * Flags of the target's JVM, for a budget of seconds. The serial collector: the default G1 starts a dozen threads
     * that compete for this machine's two cores with the other target's JVM, and Jazzer's start-up (a class-path scan
     * of the whole JDK for its hooks) allocates a lot. C1 only: C2 compiles that pay off after minutes, not seconds.
     * Hooks go only into Mesovirt's classes; the JDK's own (class file version 69) cannot be instrumented anyway, and
     * trying it for the sanitizers' extra classes prints a stack trace per class.
     */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:+EnableDynamicAgentLoading", "--enable-native-access=ALL-UNNAMED", "-Dstdout.encoding=UTF-8",
            "-Dstderr.encoding=UTF-8", "-Djazzer.instrument=dev.mesovirt.**",
            "-Djazzer.additional_classes_excludes=java.**:jdk.**:sun.**");
    /** libFuzzer's time limit for one input: a hang is a finding, with its input. */
    static final int INPUT_TIMEOUT_SECONDS = 60;

    private static final Pattern UNITS = Pattern.compile("stat::number_of_executed_units:\\s*(\\d+)");
    private static final Pattern DONE = Pattern.compile("Done (\\d+) runs in (\\d+) second");
    private static final Pattern COVERAGE = Pattern.compile("#\\d+\\s+DONE\\s+cov: (\\d+) ft: (\\d+)");
    private static final Pattern ARTIFACT = Pattern.compile("Test unit written to (\\S+)");
    private static final Pattern SUCCESSFUL = Pattern.compile("^tests: (\\d+) successful", Pattern.MULTILINE);
    /** A failed invocation as {@link TargetMain} prints it: "test linux-msix: FAILED org...: message". */
    private static final Pattern FAILED_CASE = Pattern.compile("^test (.+?): FAILED (.*)$", Pattern.MULTILINE);

    private FuzzRun() {}

    /**
     * What a log says.
     *
     * @param inputs inputs libFuzzer ran (-1: it did not fuzz, e.g. replay only)
     * @param seconds libFuzzer's own count of seconds
     * @param coverage libFuzzer's covered edges at the end, or -1
     * @param tests JUnit invocations that passed (the empty input, each seed and reproducer, the fuzzing)
     * @param failures each failed invocation: the input's name (a file of the inputs directory, {@code <empty input>}
     *     or {@code Fuzzing...}) and the exception
     * @param artifacts the inputs libFuzzer wrote for its findings (crash-, timeout-, ...)
     */
    record Outcome(long inputs, long seconds, long coverage, int tests, List<Failure> failures, List<String> artifacts) {}

    /** A failed JUnit invocation: which input, and what it threw. */
    record Failure(String input, String exception) {}

    /**
     * The command of {@code target}'s JVM.
     *
     * @param launcher where {@link TargetMain} is (this module's test classes)
     */
    static List<String> command(Path java, Path root, FuzzTargets.Target target, Path launcher, boolean fuzz,
            int seconds) {
        Path module = root.resolve(target.module()).toAbsolutePath().normalize();
        Path classpathFile = module.resolve("target/test-classpath.txt");
        String classpath;
        try {
            classpath = Files.readString(classpathFile).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(target.module() + " is not built (no " + classpathFile + ")", e);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(JVM_FLAGS);
        if (fuzz) {
            // Jazzer's JUnit integration takes libFuzzer's arguments from these (the first is argv[0]); they come after
            // the @FuzzTest's maxDuration, so they override it.
            cmd.add("-Djazzer.internal.arg.0=" + target.simpleName());
            cmd.add("-Djazzer.internal.arg.1=-max_total_time=" + seconds);
            cmd.add("-Djazzer.internal.arg.2=-timeout=" + INPUT_TIMEOUT_SECONDS);
            cmd.add("-Djazzer.internal.arg.3=-print_final_stats=1");
        }
        cmd.add("-cp");
        cmd.add(module.resolve("target/test-classes") + ":" + module.resolve("target/classes") + ":" + classpath + ":"
                + launcher);
        cmd.add(TargetMain.class.getName());
        cmd.add(target.className());
        return cmd;
    }

    /**
     * Runs {@code command} in {@code directory} with JAZZER_FUZZ set as {@code fuzz} says, output to {@code log};
     * returns its exit status, or -1 when it ran past {@code limitSeconds} (it is killed, with what it started).
     */
    static int run(List<String> command, Path directory, boolean fuzz, Path log, long limitSeconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("JAZZER_FUZZ", fuzz ? "1" : "");
        Process p = pb.start();
        if (!p.waitFor(limitSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
            return -1;
        }
        return p.exitValue();
    }

    /** Reads a target's log. */
    static Outcome parse(String log) {
        long inputs = lastLong(UNITS, log, 1);
        if (inputs < 0) {
            inputs = lastLong(DONE, log, 1);
        }
        List<Failure> failures = new ArrayList<>();
        Matcher f = FAILED_CASE.matcher(log);
        while (f.find()) {
            failures.add(new Failure(f.group(1).strip(), f.group(2).strip()));
        }
        List<String> artifacts = new ArrayList<>();
        Matcher a = ARTIFACT.matcher(log);
        while (a.find()) {
            if (!artifacts.contains(a.group(1))) {
                artifacts.add(a.group(1));
            }
        }
        return new Outcome(inputs, lastLong(DONE, log, 2), lastLong(COVERAGE, log, 1),
                (int) Math.max(0, lastLong(SUCCESSFUL, log, 1)), failures, artifacts);
    }

    private static long lastLong(Pattern p, String text, int group) {
        Matcher m = p.matcher(text);
        long v = -1;
        while (m.find()) {
            v = Long.parseLong(m.group(group));
        }
        return v;
    }

}
