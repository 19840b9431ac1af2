package dev.mesovirt.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The short fuzzing budget of every build (docs/fuzzing.md), run by this module's {@code fuzz} execution after every
 * module's tests: each Jazzer target of the build in a JVM of its own ({@link FuzzRun}), {@code fuzz.jobs} of them at
 * a time across all modules, replaying its seeds and reproducers and then fuzzing for {@code fuzz.seconds}
 * ({@code jazzer.fuzz} empty: replaying only). Each target's output goes to {@code fuzz.logs}/Class.log; the build's
 * log gets one line per target, and for a finding the exception, the reproducer and the log.
 */
class FuzzCampaign {
    @Test
    void everyTarget() throws Exception {
        Path root = Path.of(property("fuzz.root", "..")).toAbsolutePath().normalize();
        Path logs = Path.of(property("fuzz.logs", "target/fuzz-logs")).toAbsolutePath();
        int seconds = Integer.parseInt(property("fuzz.seconds", "3"));
        int jobs = Integer.parseInt(property("fuzz.jobs", "2"));
        String only = property("fuzz.targets", "");
        boolean fuzz = !property("jazzer.fuzz", "1").isEmpty();
        Path launcher = Path.of(TargetMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Files.createDirectories(logs);
        List<FuzzTargets.Target> targets = FuzzTargets.discover(root).stream()
                .filter(t -> only.isEmpty() || t.toString().matches(".*(" + only + ").*")).toList();
        assertFalse(targets.isEmpty(), "no fuzz target" + (only.isEmpty() ? "" : " matches " + only));
        System.out.printf("fuzz: %d targets, %s, %d at a time; logs in %s%n", targets.size(),
                fuzz ? seconds + " s of fuzzing each after their inputs" : "their inputs only", jobs, logs);
        ExecutorService pool = Executors.newFixedThreadPool(jobs);
        List<Future<String>> results = new ArrayList<>();
        for (FuzzTargets.Target t : targets) {
            results.add(pool.submit(() -> runOne(java, root, t, launcher, fuzz, seconds, logs)));
        }
        pool.shutdown();
        List<String> problems = new ArrayList<>();
        for (Future<String> r : results) {
            String problem = r.get();
            if (problem != null) {
                problems.add(problem);
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " fuzz target(s) failed:\n\n" + String.join("\n\n", problems));
        }
    }

    /** Runs one target and prints its line; returns what went wrong, or null. */
    private static String runOne(Path java, Path root, FuzzTargets.Target t, Path launcher, boolean fuzz, int seconds,
            Path logs) throws IOException, InterruptedException {
        Path log = logs.resolve(t.simpleName() + ".log");
        long started = System.nanoTime();
        // Start-up under load takes up to half a minute; anything near this limit is a hang libFuzzer missed.
        int status = FuzzRun.run(FuzzRun.command(java, root, t, launcher, fuzz, seconds),
                root.resolve(t.module()), fuzz, log, seconds + FuzzRun.INPUT_TIMEOUT_SECONDS + 240L);
        long wall = (System.nanoTime() - started) / 1_000_000_000L;
        // Bytes as they are: libFuzzer's output is not all text.
        FuzzRun.Outcome o = FuzzRun.parse(new String(Files.readAllBytes(log), StandardCharsets.UTF_8));
        String name = t.simpleName() + "#" + t.method();
        String problem = null;
        if (status < 0) {
            problem = "no end within its time limit (killed)";
        } else if (!o.failures().isEmpty() || !o.artifacts().isEmpty()) {
            problem = o.failures().size() + " failed input(s)";
        } else if (status != 0) {
            problem = "exit status " + status;
        } else if (fuzz && o.inputs() <= 0) {
            problem = "ran no input (Jazzer did not fuzz)";
        }
        String summary = fuzz && o.inputs() >= 0
                ? String.format(Locale.ROOT, "%,d inputs in %d s%s", o.inputs(), o.seconds(),
                        o.coverage() >= 0 ? ", cov " + o.coverage() : "")
                : o.tests() + " inputs replayed";
        System.out.printf(Locale.ROOT, "fuzz: %-40s %-38s %s (%d s)%n", name, summary,
                problem == null ? "0 crashes" : "FAILED", wall);
        if (problem == null) {
            return null;
        }
        StringBuilder why = new StringBuilder(name + ": " + problem);
        Path inputs = root.resolve(t.module()).resolve("src/test/resources")
                .resolve(t.className().replace('.', '/') + "Inputs").resolve(t.method());
        for (FuzzRun.Failure f : o.failures()) {
            why.append("\n  ").append(f.input()).append(": ").append(f.exception());
            if (!f.input().startsWith("<") && !f.input().startsWith("Fuzzing")) {
                why.append("\n    reproducer: ").append(inputs.resolve(f.input()));
            }
        }
        for (String a : o.artifacts()) {
            why.append("\n  reproducer: ").append(root.resolve(t.module()).resolve(a).normalize());
        }
        why.append("\n  log: ").append(log);
        return why.toString();
    }

    private static String property(String name, String otherwise) {
        String v = System.getProperty(name);
        return v == null ? otherwise : v.strip();
    }
}
