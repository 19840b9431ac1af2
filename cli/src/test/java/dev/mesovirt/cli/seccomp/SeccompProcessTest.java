package dev.mesovirt.cli.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The VMM's seccomp filter in a real process (no KVM needed): a child JVM ({@link SeccompProbe}) installs this host's
 * filter and makes a forbidden call from a thread that existed before (TSYNC), from one started after (inherited),
 * from the installing thread, and tries to start a process; each time the kernel kills the whole JVM with SIGSYS
 * (exit status 128 + 31) right at the call. The same filter lets the JVM work on: a new thread, /proc, AF_UNIX.
 */
class SeccompProcessTest {
    private static final int KILLED_BY_SIGSYS = 128 + 31;

    @Test
    void execveFromAThreadThatExistedBeforeKillsTheProcess() throws Exception {
        Result r = probe("before");
        assertKilledAt(r, "execve from early thread");
    }

    @Test
    void execveFromAThreadStartedAfterKillsTheProcess() throws Exception {
        Result r = probe("after");
        assertKilledAt(r, "execve from late thread");
    }

    @Test
    void execveFromTheInstallingThreadKillsTheProcess() throws Exception {
        assertKilledAt(probe("main"), "execve from main thread");
    }

    @Test
    void startingAProcessKillsTheVmm() throws Exception {
        assertKilledAt(probe("fork"), "fork");
    }

    @Test
    void everyThreadIsFilteredAndTheAllowedCallsWork() throws Exception {
        Process p = start("allowed");
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.equals("ready")) {
            seen.append(line).append('\n');
        }
        assertEquals("ready", line, seen.toString());
        // Seen from outside: mode 2 (filter) on every thread of the child, the JVM's GC, compiler and signal threads,
        // the one started before and the one started after the filter went in.
        Map<String, String> modes = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
            for (Path t : tasks.toList()) {
                String name;
                List<String> status;
                try {
                    name = Files.readString(t.resolve("comm")).strip();
                    status = Files.readAllLines(t.resolve("status"));
                } catch (IOException gone) {
                    continue; // a JVM thread that ended after the listing (ENOENT or ESRCH): nothing to check
                }
                for (String s : status) {
                    if (s.startsWith("Seccomp:")) {
                        modes.put(t.getFileName() + " " + name, s.substring(8).strip());
                    }
                }
            }
        }
        p.getOutputStream().close();
        String rest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        String all = seen + rest + modes;
        assertEquals(0, p.exitValue(), all);
        assertTrue(modes.size() >= 5 && modes.values().stream().allMatch("2"::equals), all);
        assertTrue(modes.keySet().stream().anyMatch(k -> k.endsWith("probe-late")), all);
        assertTrue(seen.toString().contains("socket(AF_UNIX) ok"), all);
        assertTrue(seen.toString().contains("socket(AF_INET) errno 97"), all); // EAFNOSUPPORT
        assertTrue(rest.contains("still alive"), all);
    }

    private static void assertKilledAt(Result r, String step) {
        assertEquals(KILLED_BY_SIGSYS, r.exit(), r.output());
        assertTrue(r.output().contains("installed "), r.output());
        List<String> lines = r.output().lines().toList();
        assertEquals(step, lines.get(lines.size() - 1), "the last thing the child did: " + r.output());
    }

    record Result(int exit, String output) {}

    private static Result probe(String what) throws IOException, InterruptedException {
        Process p = start(what);
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static Process start(String what) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // No core file for the SIGSYS (the kernel's default action for it dumps core). The VMM's own JVM flags
        // (bin/mesovirt): the filter is measured for its serial GC; G1 has threads of its own (its service thread
        // calls getrusage), which the VMM never starts.
        String cmd = "ulimit -c 0; exec \"$0\" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC"
                + " -XX:TieredStopAtLevel=1 -Xshare:auto -cp \"$1\" "
                + SeccompProbe.class.getName() + " \"$2\"";
        return new ProcessBuilder("/bin/bash", "-c", cmd, java.toString(), System.getProperty("java.class.path"),
                what).redirectErrorStream(true).start();
    }
}
