package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The pflash bank ({@link CfiFlash}, x86's geometry: one byte-wide chip of 4 KiB blocks, the only one on main) as a
 * hostile guest drives it: reads and writes of width 1, 2, 4 or 8 at any offset inside the bank (across its end too),
 * and the command sequences, whole or broken off: Read Array, Read Status, Read Identifier, CFI Query, Block Erase
 * (0x20, 0xD0), Program (0x10, 0x40), Write to Buffer (0xE8, a count, words, 0xD0: a command this part does not have),
 * lock and unlock (0x60, then 0x01, 0xD0 or anything), Clear Status (0x50), and machine resets.
 *
 * <p>Every operation goes to three devices in step: a writable {@link FlashUnit} over a temporary file (the variable
 * store), a read-only one over another (the code), and a bare writable {@code CfiFlash} over an array, whose listener
 * the harness holds. After each operation: the three are in the same mode and the writable ones have the same
 * status; the read-only unit has the error bit of each program or erase it refused; the bare device's contents changed
 * exactly where its mode at the write allowed (a Program's bytes up to the bank's end, an Erase confirm's aligned block
 * to 0xFF, nothing for any other write), and its listener was told exactly that change and every switch into and out
 * of Read Array, alternating and ending as the mode is (the unit maps or unmaps its KVM slot on each); the writable
 * unit reads what the bare device reads; the read-only unit reads its file in Read Array. After each input: the
 * writable unit's file holds the model's contents and its length, the read-only unit's file is unchanged, and both
 * units read their contents after a reset. Nothing may throw.
 */
class CfiFlashFuzzTarget {
    /** Five blocks: not a power of two, so the CFI size field rounds up. */
    static final int SIZE = 5 * CfiFlash.BLOCK_SIZE;
    /** Commands a guest's command write picks from (the rest of the byte space comes through raw writes). */
    private static final int[] COMMANDS = {0xFF, 0x00, 0x70, 0x90, 0x98, 0x20, 0xD0, 0x10, 0x40, 0xE8, 0x60, 0x01,
        0x50, 0x2F, 0xB0};

    private static final Path DIR;
    private static final Path WRITABLE_FILE;
    private static final Path READ_ONLY_FILE;
    private static final byte[] ORIGINAL;
    private static final FlashUnit READ_ONLY;

    static {
        try {
            // In memory where there is a tmpfs: each input's unit syncs its file when closed, which on a disk costs
            // milliseconds.
            Path shm = Path.of("/dev/shm");
            DIR = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "cfi-flash-fuzz")
                    : Files.createTempDirectory("cfi-flash-fuzz");
            ORIGINAL = Files.readAllBytes(FlashImageTest.volume(DIR.resolve("original.fd"), SIZE, new byte[16]));
            WRITABLE_FILE = DIR.resolve("vars.fd");
            READ_ONLY_FILE = Files.write(DIR.resolve("code.fd"), ORIGINAL);
            // Removed when the JVM ends (in the reverse order of these calls: the files, then the directory).
            for (Path p : new Path[] {DIR, DIR.resolve("original.fd"), WRITABLE_FILE, READ_ONLY_FILE}) {
                p.toFile().deleteOnExit();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        READ_ONLY = new FlashUnit(FlashImage.open(0, READ_ONLY_FILE, true), 0xFFFF0000L - SIZE, 32);
    }

    /** What one input did, for the seeds' test. */
    record Stats(int programs, int erases, int bufferedCounts, int refused, int statusReads, int queryReads) {}

    @FuzzTest(maxDuration = "5s")
    void guest(byte[] input) {
        run(input);
    }

    /**
     * One input. Each operation is a byte (modulo 9), then its operands: 0 read (width, offset), 1 write (width,
     * offset, bytes), 2 command (width, offset, command, whether the other bytes repeat it), 3 block erase (offset,
     * second offset, confirm or not), 4 program (0x10 or 0x40, width, offset, bytes), 5 Write to Buffer (offset, count
     * byte, word count, width, the words, the confirm or not), 6 lock or unlock (offset, the second cycle), 7 Clear
     * Status then Read Status, 8 reset.
     */
    static Stats run(byte[] input) {
        FuzzBytes in = new FuzzBytes(input);
        Bank bank = new Bank();
        int programs = 0;
        int erases = 0;
        int bufferedCounts = 0;
        int refused = 0;
        int statusReads = 0;
        int queryReads = 0;
        try (FlashUnit writable = bank.writable) {
            int steps = 0;
            while (in.more() && steps++ < 200) {
                int op = in.u8() % 9;
                switch (op) {
                    case 0 -> {
                        CfiFlash.Mode mode = bank.bare.mode();
                        bank.read(in.width(), offset(in));
                        statusReads += mode == CfiFlash.Mode.READ_STATUS ? 1 : 0;
                        queryReads += mode == CfiFlash.Mode.CFI_QUERY ? 1 : 0;
                    }
                    case 1 -> {
                        int width = in.width();
                        bank.write(offset(in), in.bytes(width));
                    }
                    case 2 -> {
                        int width = in.width();
                        long at = offset(in);
                        bank.write(at, command(COMMANDS[in.u8() % COMMANDS.length], width, in));
                    }
                    case 3 -> {
                        long at = offset(in);
                        bank.write(at, new byte[] {0x20});
                        int how = in.u8();
                        long confirmAt = (how & 1) == 0 ? at : offset(in);
                        CfiFlash.Mode before = bank.bare.mode();
                        bank.write(confirmAt, new byte[] {(byte) ((how & 2) == 0 ? 0xD0 : in.u8())});
                        erases += before == CfiFlash.Mode.ERASE && bank.bare.mode() == CfiFlash.Mode.READ_STATUS
                                ? 1 : 0;
                    }
                    case 4 -> {
                        int cmd = (in.u8() & 1) == 0 ? 0x10 : 0x40;
                        int width = in.width();
                        long at = offset(in);
                        bank.write(at, new byte[] {(byte) cmd});
                        CfiFlash.Mode before = bank.bare.mode();
                        bank.write(at, in.bytes(width));
                        programs += before == CfiFlash.Mode.PROGRAM ? 1 : 0;
                    }
                    case 5 -> {
                        long at = offset(in);
                        bank.write(at, new byte[] {(byte) 0xE8});
                        bank.write(at, new byte[] {(byte) in.u8()}); // words - 1: any count, beyond any buffer
                        bufferedCounts++;
                        int words = in.u8() % 40;
                        int width = in.width();
                        for (int i = 0; i < words; i++) {
                            bank.write(Math.min(SIZE - 1, at + (long) i * width), in.bytes(width));
                        }
                        if ((in.u8() & 1) == 0) {
                            bank.write(at, new byte[] {(byte) 0xD0});
                        }
                    }
                    case 6 -> {
                        long at = offset(in);
                        bank.write(at, new byte[] {0x60});
                        int second = in.u8() % 3;
                        bank.write(at, new byte[] {(byte) (second == 0 ? 0x01 : second == 1 ? 0xD0 : in.u8())});
                    }
                    case 7 -> {
                        long at = offset(in);
                        bank.write(at, new byte[] {0x50});
                        bank.write(at, new byte[] {0x70});
                        bank.read(1, at);
                        statusReads++;
                    }
                    default -> bank.reset();
                }
                refused = bank.refused;
            }
            bank.finish();
        }
        bank.checkFiles();
        return new Stats(programs, erases, bufferedCounts, refused, statusReads, queryReads);
    }

    /** An offset inside the bank: anywhere, at a block's edge, at the bank's end (wide accesses cross it), or low. */
    static long offset(FuzzBytes in) {
        return switch (in.u8() % 4) {
            case 0 -> in.u16() % SIZE;
            case 1 -> Math.floorMod((long) (in.u8() % 6) * CfiFlash.BLOCK_SIZE + (byte) in.u8(), (long) SIZE);
            case 2 -> SIZE - 1 - in.u8() % 8;
            default -> in.u8() % 0x48;
        };
    }

    /** A command write of {@code width} bytes: the command in the low byte, the others the same or raw. */
    private static byte[] command(int cmd, int width, FuzzBytes in) {
        byte[] v = new byte[width];
        boolean repeat = (in.u8() & 1) == 0;
        for (int i = 0; i < width; i++) {
            v[i] = (byte) (i == 0 || repeat ? cmd : in.u8());
        }
        return v;
    }

    /** The three devices of one input and the model of the writable contents. */
    private static final class Bank implements CfiFlash.Listener {
        final byte[] model = ORIGINAL.clone();
        final byte[] array = ORIGINAL.clone();
        final CfiFlash bare = new CfiFlash(ByteBuffer.wrap(array), false, this);
        final FlashUnit writable;
        /** The listener's view: in Read Array, and the ranges it was told changed in this operation. */
        boolean listenedArray = true;
        long changedFrom = -1;
        long changedTo = -1;
        int changes;
        /** Programs and erases the read-only unit refused. */
        int refused;
        /** The blocks a program or erase reached (bit per block): those the contents' check reads at the end. */
        int touched;

        Bank() {
            try {
                Files.write(WRITABLE_FILE, ORIGINAL);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            writable = new FlashUnit(FlashImage.open(1, WRITABLE_FILE, false), 0xFFFF0000L - 2L * SIZE, 33);
            READ_ONLY.flash().reset();
        }

        @Override
        public void arrayMode(boolean on) {
            assertTrue(on != listenedArray, () -> "told Read Array is " + on + " twice in a row");
            listenedArray = on;
        }

        @Override
        public void changed(long offset, int length) {
            assertTrue(offset >= 0 && length > 0 && offset + length <= SIZE,
                    () -> "changed " + length + " bytes at " + offset + ": outside the bank of " + SIZE);
            changes++;
            changedFrom = offset;
            changedTo = offset + length;
        }

        void reset() {
            bare.reset();
            writable.flash().reset();
            READ_ONLY.flash().reset();
            checkModes(() -> "a reset");
        }

        void read(int width, long at) {
            byte[] b = new byte[width];
            byte[] w = new byte[width];
            byte[] r = new byte[width];
            bare.read(at, b);
            writable.flash().read(at, w);
            READ_ONLY.flash().read(at, r);
            assertArrayEquals(b, w, () -> "the writable unit reads as the bare device at " + at);
            if (READ_ONLY.flash().mode() == CfiFlash.Mode.READ_ARRAY) {
                for (int i = 0; i < width; i++) {
                    long a = at + i;
                    assertEquals(a < SIZE ? ORIGINAL[(int) a] : (byte) 0xFF, r[i], () -> "read-only unit at " + a);
                }
            }
        }

        void write(long at, byte[] value) {
            CfiFlash.Mode before = bare.mode();
            changes = 0;
            bare.write(at, value);
            writable.flash().write(at, value.clone());
            int roStatusBefore = READ_ONLY.flash().status();
            READ_ONLY.flash().write(at, value.clone());
            // What the write may change, from the mode it found.
            long from = -1;
            long to = -1;
            if (before == CfiFlash.Mode.PROGRAM) {
                from = at;
                to = Math.min(SIZE, at + value.length);
                System.arraycopy(value, 0, model, (int) from, (int) (to - from));
            } else if (before == CfiFlash.Mode.ERASE && value[0] == (byte) 0xD0) {
                from = at & -CfiFlash.BLOCK_SIZE;
                to = from + CfiFlash.BLOCK_SIZE;
                Arrays.fill(model, (int) from, (int) to, (byte) 0xFF);
            }
            if (!Arrays.equals(array, model)) {
                int i = Arrays.mismatch(array, model);
                fail("after writing " + value.length + " bytes at " + at + " in " + before + ": byte " + i + " is 0x"
                        + Integer.toHexString(array[i] & 0xFF) + ", expected 0x" + Integer.toHexString(model[i] & 0xFF));
            }
            if (from >= 0) {
                for (long b = from / CfiFlash.BLOCK_SIZE; b <= (to - 1) / CfiFlash.BLOCK_SIZE; b++) {
                    touched |= 1 << b;
                }
                if (changes != 1 || changedFrom != from || changedTo != to) {
                    fail(changes + " change(s) reported for a " + before + " write, the last [" + changedFrom + ", "
                            + changedTo + "), expected [" + from + ", " + to + ")");
                }
                int error = before == CfiFlash.Mode.PROGRAM ? CfiFlash.STATUS_PROGRAM_ERROR
                        : CfiFlash.STATUS_ERASE_ERROR;
                assertEquals(error, READ_ONLY.flash().status() & error, () -> "the read-only unit refuses a " + before);
                refused += (roStatusBefore & error) == 0 ? 1 : 0;
            } else {
                assertEquals(0, changes, () -> "a change reported for a write in " + before);
            }
            checkModes(() -> "writing " + value.length + " bytes at " + at + " in " + before);
        }

        void checkModes(Supplier<String> when) {
            CfiFlash.Mode mode = bare.mode();
            int errors = CfiFlash.STATUS_PROGRAM_ERROR | CfiFlash.STATUS_ERASE_ERROR;
            if (mode != writable.flash().mode() || mode != READ_ONLY.flash().mode()
                    || bare.status() != writable.flash().status()
                    || (bare.status() & ~errors) != (READ_ONLY.flash().status() & ~errors)
                    || (mode == CfiFlash.Mode.READ_ARRAY) != listenedArray) {
                fail("after " + when.get() + ": modes " + mode + ", " + writable.flash().mode() + " (writable unit), "
                        + READ_ONLY.flash().mode() + " (read-only unit); status 0x" + Integer.toHexString(bare.status())
                        + ", 0x" + Integer.toHexString(writable.flash().status()) + ", 0x"
                        + Integer.toHexString(READ_ONLY.flash().status()) + " (the read-only one may add its refusals);"
                        + " the listener was last told Read Array " + listenedArray);
            }
        }

        /**
         * Both units read, after a reset, the blocks a program or erase reached and the last one (the others are
         * compared in the files; reading all of the bank through the device's byte loop took most of an input's time).
         */
        void finish() {
            writable.flash().reset();
            READ_ONLY.flash().reset();
            int blocks = touched | 1 << (SIZE / CfiFlash.BLOCK_SIZE - 1);
            for (int b = 0; b < SIZE / CfiFlash.BLOCK_SIZE; b++) {
                if ((blocks & 1 << b) == 0) {
                    continue;
                }
                int at = b * CfiFlash.BLOCK_SIZE;
                byte[] w = new byte[CfiFlash.BLOCK_SIZE];
                byte[] r = new byte[CfiFlash.BLOCK_SIZE];
                writable.flash().read(at, w);
                READ_ONLY.flash().read(at, r);
                assertArrayEquals(Arrays.copyOfRange(model, at, at + w.length), w,
                        "the writable unit's block " + b + " after a reset");
                assertArrayEquals(Arrays.copyOfRange(ORIGINAL, at, at + r.length), r,
                        "the read-only unit's block " + b + " after a reset");
            }
        }

        /** After the writable unit is closed: its file is the model, the read-only file as it was. */
        void checkFiles() {
            try {
                assertEquals(SIZE, Files.size(WRITABLE_FILE), "the writable file's length");
                byte[] file = Files.readAllBytes(WRITABLE_FILE);
                if (!Arrays.equals(file, model)) {
                    fail("the writable file differs from the model first at byte " + Arrays.mismatch(file, model));
                }
                byte[] code = new byte[SIZE + 1];
                int n;
                try (FileChannel ch = FileChannel.open(READ_ONLY_FILE, StandardOpenOption.READ)) {
                    n = ch.read(ByteBuffer.wrap(code));
                }
                assertEquals(SIZE, n, "the read-only file's length");
                assertTrue(Arrays.equals(code, 0, SIZE, ORIGINAL, 0, SIZE), "the read-only file changed");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
