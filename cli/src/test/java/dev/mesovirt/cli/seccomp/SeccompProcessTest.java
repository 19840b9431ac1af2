package dev.mesovirt.cli.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
        Result r = probe("allowed");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("socket(AF_UNIX) ok"), r.output());
        assertTrue(r.output().contains("socket(AF_INET) errno 97"), r.output()); // EAFNOSUPPORT
        // Mode 2 (filter) on every thread: the JVM's GC, compiler and signal threads, and the one started after.
        assertTrue(r.output().matches("(?s).*threads \\d+ seccomp modes \\[2\\].*"), r.output());
        assertTrue(r.output().contains("still alive"), r.output());
    }

    private static void assertKilledAt(Result r, String step) {
        assertEquals(KILLED_BY_SIGSYS, r.exit(), r.output());
        assertTrue(r.output().contains("installed "), r.output());
        List<String> lines = r.output().lines().toList();
        assertEquals(step, lines.get(lines.size() - 1), "the last thing the child did: " + r.output());
    }

    record Result(int exit, String output) {}

    private static Result probe(String what) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // No core file for the SIGSYS (the kernel's default action for it dumps core).
        String cmd = "ulimit -c 0; exec \"$0\" --enable-native-access=ALL-UNNAMED -Xshare:auto -cp \"$1\" "
                + SeccompProbe.class.getName() + " \"$2\"";
        Process p = new ProcessBuilder("/bin/bash", "-c", cmd, java.toString(), System.getProperty("java.class.path"),
                what).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
