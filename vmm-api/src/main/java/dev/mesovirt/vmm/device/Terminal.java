package dev.mesovirt.vmm.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.LibC;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Raw mode for a terminal, the way QEMU's {@code -serial stdio} does it: no line editing, no echo, and no signal
 * keys, so Ctrl-C reaches the guest (the serial backend's Ctrl-A x is the way out). Output post-processing
 * (OPOST/ONLCR) is kept as it was, as QEMU keeps it, so the VMM's own log lines on the same terminal do not
 * staircase; a guest's CR LF then prints as CR CR LF, which looks the same.
 *
 * <p>The original settings are restored by {@link #restore()} / {@link #close()} and by a shutdown hook if the JVM
 * exits first; restoring is idempotent.
 *
 * <p>struct termios is treated as opaque (60 bytes on Linux glibc; 64 allocated), except for c_oflag, the second
 * 32-bit word, which has that position on every Linux architecture (asm-generic termbits).
 */
public final class Terminal implements AutoCloseable {
    private static final int TERMIOS_BYTES = 64;
    private static final long C_OFLAG_OFFSET = 4;
    private static final int TCSANOW = 0;

    private final int fd;
    private final Memory original;
    private final AtomicBoolean restored = new AtomicBoolean();
    private final Thread shutdownHook;

    private Terminal(int fd, Memory original) {
        this.fd = fd;
        this.original = original;
        this.shutdownHook = new Thread(this::restoreQuietly, "terminal-restore-fd" + fd);
    }

    /** Whether {@code fd} refers to a terminal. */
    public static boolean isTerminal(int fd) {
        return LibC.isatty(fd) == 1;
    }

    /**
     * Puts the terminal on {@code fd} into raw mode and returns the handle that restores it.
     *
     * @throws ErrnoException if {@code fd} is not a terminal or its settings cannot be changed
     */
    public static Terminal enterRawMode(int fd) {
        Memory original = new Memory(TERMIOS_BYTES);
        original.clear();
        try {
            LibC.tcgetattr(fd, original);
        } catch (LastErrorException e) {
            throw new ErrnoException("tcgetattr(" + fd + ")", e.getErrorCode());
        }
        Memory raw = new Memory(TERMIOS_BYTES);
        raw.write(0, original.getByteArray(0, TERMIOS_BYTES), 0, TERMIOS_BYTES);
        LibC.cfmakeraw(raw);
        raw.setInt(C_OFLAG_OFFSET, original.getInt(C_OFLAG_OFFSET));

        Terminal terminal = new Terminal(fd, original);
        // Register before changing anything, so there is no window in which an exit leaves the terminal raw.
        Runtime.getRuntime().addShutdownHook(terminal.shutdownHook);
        try {
            LibC.tcsetattr(fd, TCSANOW, raw);
        } catch (LastErrorException e) {
            terminal.restored.set(true);
            terminal.removeHook();
            throw new ErrnoException("tcsetattr(" + fd + ", raw)", e.getErrorCode());
        }
        return terminal;
    }

    public int fd() {
        return fd;
    }

    /** A copy of the settings that {@link #restore()} puts back. */
    public byte[] originalSettings() {
        return original.getByteArray(0, TERMIOS_BYTES);
    }

    public boolean isRestored() {
        return restored.get();
    }

    /** Puts the original settings back; only the first call does anything. */
    public void restore() {
        if (!restored.compareAndSet(false, true)) {
            return;
        }
        removeHook();
        try {
            LibC.tcsetattr(fd, TCSANOW, original);
        } catch (LastErrorException e) {
            throw new ErrnoException("tcsetattr(" + fd + ", restore)", e.getErrorCode());
        }
    }

    @Override
    public void close() {
        restore();
    }

    private void restoreQuietly() {
        if (restored.compareAndSet(false, true)) {
            try {
                LibC.tcsetattr(fd, TCSANOW, original);
            } catch (LastErrorException e) {
                // the terminal may already be gone at exit; nothing more to do
            }
        }
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook runs (or ran) and finds the terminal restored
        }
    }
}
