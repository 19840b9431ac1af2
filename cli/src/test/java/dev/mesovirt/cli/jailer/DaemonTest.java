package dev.mesovirt.cli.jailer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.sys.Sys;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * --daemonize's caller side with a shell script standing in for the jailer's copy: what the copy gets (a session of
 * its own, stdin on /dev/null, stdout and stderr on the log, the named descriptors and the pipe, nothing else) and
 * how each word it says becomes the caller's exit code and message. The copy's own part is the jailer's usual run,
 * checked with a real VMM by ci/tests/jailer.sh.
 */
@Timeout(60)
class DaemonTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int start(String copyScript, String... vmmArgs) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("--id", "a", "--uid", "1", "--gid", "1", "--daemonize",
                "--log-path", dir.resolve("log").toString(), "--", "-kernel", "/k"));
        args.addAll(List.of(vmmArgs));
        return Daemon.start(JailerOptions.parse(args.toArray(String[]::new)), List.of("/bin/bash", "-c", copyScript),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void readyReturnsAtOnceWhileTheCopyRuns() throws Exception {
        int tap = Sys.open("/dev/null", 0); // close-on-exec here: handed on all the same
        int other = Sys.open("/dev/null", 0); // named nowhere: not handed on
        int pid = -1;
        try {
            long t = System.nanoTime();
            // The copy notes its session and pid, says ready and closes the pipe as the jailer does, then stays.
            int rc = start("echo \"sid $(cut -d' ' -f6 /proc/$$/stat) pid $$\"; echo ready >&$" + Daemon.READY_FD
                    + "; eval \"exec $" + Daemon.READY_FD + ">&-\"; exec /bin/sleep 10", "-netdev", "tap,id=n0,fds=" + tap);
            assertEquals(0, rc, err());
            assertFalse(dev.mesovirt.vmm.sys.Fds.isOpen(tap), "handed on, so closed here");
            assertTrue(dev.mesovirt.vmm.sys.Fds.isOpen(other));
            assertTrue(System.nanoTime() - t < 5_000_000_000L, "returned long before the copy ends");
            String first = Files.readAllLines(dir.resolve("log")).getFirst();
            pid = Integer.parseInt(first.replaceFirst("^sid \\d+ pid (\\d+)$", "$1"));
            assertEquals("sid " + pid + " pid " + pid, first, "a session of its own");
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            Path fds = Path.of("/proc/" + pid + "/fd");
            List<String> seen = List.of();
            for (int i = 0; i < 100; i++) { // until sleep's loader has closed what it opened
                try (var list = Files.list(fds)) {
                    seen = list.map(f -> f.getFileName() + " " + readlink(f)).sorted().toList();
                }
                if (seen.size() == 4) {
                    break;
                }
                Thread.sleep(20);
            }
            String log = dir.resolve("log").toString();
            assertEquals(java.util.stream.Stream.of("0 /dev/null", "1 " + log, "2 " + log, tap + " /dev/null").sorted()
                    .toList(), seen, "stdin /dev/null, stdout and stderr the log, the named descriptor; not "
                    + other + " nor the pipe");
            assertEquals("", err());
        } finally {
            dev.mesovirt.vmm.sys.Fds.closeQuietly(tap);
            Sys.close(other);
            if (pid > 0) {
                dev.mesovirt.vmm.sys.Spawn.kill(pid, 9);
                dev.mesovirt.vmm.sys.Spawn.waitFor(pid);
            }
        }
    }

    private static String readlink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    @Test
    void anErrorIsTheCallersOneLine() throws Exception {
        assertEquals(1, start("echo 'error /img/k: no such file (the VM needs it in its jail)' >&$" + Daemon.READY_FD));
        assertEquals("mesovirt-jailer: /img/k: no such file (the VM needs it in its jail)\n", err());
    }

    @Test
    void aVmmThatEndsBeforeItIsReadyGivesItsStatus() throws Exception {
        assertEquals(5, start("echo 'exit 5' >&$" + Daemon.READY_FD));
        assertEquals("mesovirt-jailer: the VMM ended with status 5 before it was ready; its output is in "
                + dir.resolve("log") + "\n", err());
    }

    @Test
    void aCopyThatSaysNothing() throws Exception {
        assertEquals(1, start("exit 0"));
        assertTrue(err().matches("mesovirt-jailer: the daemonized jailer \\(pid \\d+\\) ended without a word; see "
                + dir.resolve("log") + "\n"), err());
    }

    @Test
    void cmdline() {
        assertEquals(List.of("/usr/bin/java", "-cp", "x", "Main", "--", "-append", ""),
                Daemon.cmdline("/usr/bin/java\0-cp\0x\0Main\0--\0-append\0\0"));
        assertEquals(List.of("java"), Daemon.cmdline("java\0"));
    }
}
