package dev.mesovirt.vmm.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TerminalTest {
    private static final int O_NOCTTY = 0x100;
    private static final int ICANON = 0x2;
    private static final int ECHO = 0x8;
    private static final int ISIG = 0x1;

    private static byte[] settings(int fd) {
        Memory m = new Memory(64);
        m.clear();
        LibC.tcgetattr(fd, m);
        return m.getByteArray(0, 60);
    }

    private static int lflag(byte[] termios) {
        return (termios[12] & 0xFF) | (termios[13] & 0xFF) << 8 | (termios[14] & 0xFF) << 16 | (termios[15] & 0xFF) << 24;
    }

    @Test
    void rawModeOnAPseudoTerminalAndBack() {
        assumeTrue(Files.exists(Path.of("/dev/ptmx")), "no pseudo-terminals here");
        int fd;
        try {
            fd = Sys.open("/dev/ptmx", LibC.O_RDWR | O_NOCTTY);
        } catch (ErrnoException e) {
            assumeTrue(false, "cannot open /dev/ptmx: " + e.getMessage());
            return;
        }
        try {
            assertTrue(Terminal.isTerminal(fd));
            byte[] before = settings(fd);
            assumeTrue((lflag(before) & ICANON) != 0, "pty does not start canonical");
            Terminal t = Terminal.enterRawMode(fd);
            byte[] raw = settings(fd);
            assertEquals(0, lflag(raw) & (ICANON | ECHO | ISIG), "no line editing, echo or signal keys");
            assertNotEquals(lflag(before), lflag(raw));
            assertEquals(before[4], raw[4], "output processing kept");
            assertFalse(t.isRestored());
            t.restore();
            assertTrue(t.isRestored());
            assertArrayEquals(before, settings(fd));
            t.close(); // idempotent
            t.restore();
            assertArrayEquals(before, settings(fd));
        } finally {
            Sys.close(fd);
        }
    }

    @Test
    void notATerminal(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("plain");
        Files.writeString(file, "x");
        int fd = Sys.open(file.toString(), LibC.O_RDONLY);
        try {
            assertFalse(Terminal.isTerminal(fd));
            ErrnoException e = assertThrows(ErrnoException.class, () -> Terminal.enterRawMode(fd));
            assertEquals(25, e.errno(), "ENOTTY");
        } finally {
            Sys.close(fd);
        }
    }
}
