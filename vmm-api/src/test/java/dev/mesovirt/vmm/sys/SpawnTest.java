package dev.mesovirt.vmm.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** posix_spawn with an exact descriptor set, checked on real children through /proc. */
@Timeout(30)
class SpawnTest {
    private static final int SIGKILL = 9;
    private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin");

    @TempDir
    Path dir;

    @Test
    void theChildHasTheKeptDescriptorsAndNoOther() throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        int cloexec = Sys.open(file.toString(), LibC.O_RDONLY); // close-on-exec: kept all the same
        int plain = LibC.open(file.toString(), LibC.O_RDONLY, 0); // inheritable: closed all the same
        int high = LibC.open(file.toString(), LibC.O_RDONLY, 0);
        try {
            int pid = Spawn.start(List.of("/bin/sleep", "30"), ENV, List.of(cloexec), new Spawn.Inherit(), false);
            try {
                assertEquals(new TreeSet<>(Set.of(0, 1, 2, cloexec)), settledFds(pid, Set.of(0, 1, 2, cloexec)));
                assertEquals(file.toRealPath(), Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + cloexec)));
            } finally {
                assertTrue(Spawn.kill(pid, SIGKILL));
                assertEquals(128 + SIGKILL, Spawn.waitFor(pid));
            }
            // Gaps below the highest kept descriptor are closed too.
            int pid2 = Spawn.start(List.of("/bin/sleep", "30"), ENV, List.of(high), new Spawn.Inherit(), false);
            try {
                assertEquals(new TreeSet<>(Set.of(0, 1, 2, high)), settledFds(pid2, Set.of(0, 1, 2, high)));
            } finally {
                Spawn.kill(pid2, SIGKILL);
                Spawn.waitFor(pid2);
            }
            assertFalse(Spawn.kill(pid2, SIGKILL), "a reaped child is gone");
        } finally {
            Sys.close(cloexec);
            Sys.close(plain);
            Sys.close(high);
        }
    }

    @Test
    void detachedStdioAndExitCode() throws Exception {
        Path log = Files.writeString(dir.resolve("log"), "before\n");
        int pid = Spawn.start(List.of("/bin/sh", "-c", "echo out; echo err >&2; read x; echo \"read=$x rc=$?\"; exit 7"),
                ENV, List.of(), new Spawn.Detached(log.toString()), false);
        assertEquals(7, Spawn.waitFor(pid));
        assertEquals("before\nout\nerr\nread= rc=1\n", Files.readString(log), "appended; stdin at end of file");
        Path created = dir.resolve("new.log");
        assertEquals(0, Spawn.waitFor(Spawn.start(List.of("/bin/sh", "-c", "echo hi"), ENV, List.of(),
                new Spawn.Detached(created.toString()), false)));
        assertEquals("hi\n", Files.readString(created));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(created)));
    }

    @Test
    void newSession() throws Exception {
        int ours = session(LibC.getpid());
        int pid = Spawn.start(List.of("/bin/sleep", "30"), ENV, List.of(), new Spawn.Inherit(), true);
        int same = Spawn.start(List.of("/bin/sleep", "30"), ENV, List.of(), new Spawn.Inherit(), false);
        try {
            assertEquals(pid, session(pid), "the child leads a session of its own");
            assertNotEquals(ours, session(pid));
            assertEquals(ours, session(same));
        } finally {
            Spawn.kill(pid, SIGKILL);
            Spawn.kill(same, SIGKILL);
            Spawn.waitFor(pid);
            Spawn.waitFor(same);
        }
    }

    @Test
    void environmentIsExactlyTheOneGiven() throws Exception {
        Path out = dir.resolve("env");
        int pid = Spawn.start(List.of("/usr/bin/env"), Map.of("A", "1", "B", "two words"), List.of(),
                new Spawn.Detached(out.toString()), false);
        assertEquals(0, Spawn.waitFor(pid));
        assertEquals(Set.of("A=1", "B=two words"), Set.copyOf(Files.readAllLines(out)));
    }

    @Test
    void pollSeesTheEnd() throws Exception {
        int pid = Spawn.start(List.of("/bin/sh", "-c", "exit 3"), ENV, List.of(), new Spawn.Inherit(), false);
        OptionalInt rc = OptionalInt.empty();
        for (int i = 0; i < 500 && rc.isEmpty(); i++) {
            rc = Spawn.poll(pid);
            Thread.sleep(10);
        }
        assertEquals(OptionalInt.of(3), rc);
    }

    @Test
    void errors() {
        assertEquals(2, assertThrows(ErrnoException.class, () -> Spawn.start(List.of("/nonexistent/x"), ENV, List.of(),
                new Spawn.Inherit(), false)).errno(), "ENOENT");
        assertEquals(9, assertThrows(ErrnoException.class, () -> Spawn.start(List.of("/bin/true"), ENV, List.of(999),
                new Spawn.Inherit(), false)).errno(), "EBADF: descriptor 999 is not open");
        assertThrows(IllegalArgumentException.class, () -> Spawn.start(List.of("/bin/true"), ENV, List.of(2),
                new Spawn.Inherit(), false));
    }

    @Test
    void waitStatuses() {
        assertEquals(0, Spawn.exitCode(0));
        assertEquals(1, Spawn.exitCode(0x100));
        assertEquals(255, Spawn.exitCode(0xff00));
        assertEquals(143, Spawn.exitCode(15));
        assertEquals(137, Spawn.exitCode(9 | 0x80)); // with a core dump
    }

    /**
     * The child's descriptors once they are what is expected, or after 2 s: right after exec its dynamic loader
     * opens and closes the libraries for a moment. A leaked descriptor would stay, so the assertion still fails.
     */
    private static TreeSet<Integer> settledFds(int pid, Set<Integer> expected) throws Exception {
        TreeSet<Integer> now = fds(pid);
        for (int i = 0; i < 100 && !now.equals(expected); i++) {
            Thread.sleep(20);
            now = fds(pid);
        }
        return now;
    }

    private static TreeSet<Integer> fds(int pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return new TreeSet<>(s.map(p -> Integer.parseInt(p.getFileName().toString())).toList());
        }
    }

    /** The session id: field 6 of /proc/PID/stat (after the command name in parentheses). */
    private static int session(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(f[3]);
    }
}
