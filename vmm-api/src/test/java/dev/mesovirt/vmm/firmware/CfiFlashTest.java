package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CfiFlashTest {
    /** Records what the device reports. */
    private static final class Recorder implements CfiFlash.Listener {
        final List<long[]> changes = new ArrayList<>();
        final List<Boolean> modes = new ArrayList<>();

        @Override
        public void arrayMode(boolean on) {
            modes.add(on);
        }

        @Override
        public void changed(long offset, int length) {
            changes.add(new long[] {offset, length});
        }
    }

    private static ByteBuffer pattern(int size) {
        ByteBuffer b = ByteBuffer.allocate(size);
        for (int i = 0; i < size; i++) {
            b.put(i, (byte) (i * 7 + 3));
        }
        return b;
    }

    private static int read(CfiFlash f, long offset) {
        byte[] b = new byte[1];
        f.read(offset, b);
        return b[0] & 0xFF;
    }

    private static void write(CfiFlash f, long offset, int value) {
        f.write(offset, new byte[] {(byte) value});
    }

    @Test
    void edk2FlashDetectionSeesFlash() {
        // QemuFlashDetected: Clear Status must leave the array readable, Read Status must then read 0x00.
        Recorder r = new Recorder();
        CfiFlash f = new CfiFlash(pattern(8192), false, r);
        int original = read(f, 100);
        write(f, 100, 0x50);
        assertEquals(original, read(f, 100));
        write(f, 100, 0x70);
        assertEquals(0x00, read(f, 100));
        write(f, 100, 0xFF);
        assertEquals(original, read(f, 100));
        assertEquals(List.of(false, true), r.modes);
        assertTrue(r.changes.isEmpty());
    }

    @Test
    void byteProgramThenReadArray() {
        Recorder r = new Recorder();
        ByteBuffer b = pattern(8192);
        CfiFlash f = new CfiFlash(b, false, r);
        byte[] data = {0x11, 0x22, 0x33};
        for (int i = 0; i < data.length; i++) {
            write(f, 4000 + i, 0x10);
            assertEquals(0x80, read(f, 4000 + i), "status while the program is pending");
            write(f, 4000 + i, data[i]);
            assertEquals(0x80, read(f, 0), "status after the program");
        }
        write(f, 4002, 0xFF);
        assertEquals(0x11, read(f, 4000));
        assertEquals(0x22, read(f, 4001));
        assertEquals(0x33, read(f, 4002));
        assertEquals(0x33, b.get(4002), "in place in the backing buffer");
        assertEquals(3, r.changes.size());
        assertArrayEquals(new long[] {4001, 1}, r.changes.get(1));
        assertEquals(CfiFlash.Mode.READ_ARRAY, f.mode());
    }

    @Test
    void blockEraseFillsTheWholeBlockWithOnes() {
        Recorder r = new Recorder();
        ByteBuffer b = pattern(3 * 4096);
        CfiFlash f = new CfiFlash(b, false, r);
        write(f, 4096 + 123, 0x20);
        write(f, 4096 + 123, 0xD0);
        assertEquals(0x80, read(f, 5000), "status after the erase until Read Array");
        write(f, 0, 0xFF);
        for (int i = 0; i < 3 * 4096; i++) {
            int expected = i >= 4096 && i < 8192 ? 0xFF : (byte) (i * 7 + 3) & 0xFF;
            assertEquals(expected, read(f, i), "byte " + i);
        }
        assertEquals(1, r.changes.size());
        assertArrayEquals(new long[] {4096, 4096}, r.changes.get(0));
    }

    @Test
    void eraseWithoutConfirmErasesNothing() {
        CfiFlash f = new CfiFlash(pattern(4096), false, CfiFlash.Listener.NONE);
        write(f, 0, 0x20);
        write(f, 0, 0xFF);
        assertEquals(CfiFlash.Mode.READ_ARRAY, f.mode());
        assertEquals(3, read(f, 0));
    }

    @Test
    void readOnlyUnitRefusesProgramAndEraseWithErrorStatus() {
        Recorder r = new Recorder();
        ByteBuffer b = pattern(4096);
        CfiFlash f = new CfiFlash(b, true, r);
        write(f, 10, 0x40);
        write(f, 10, 0x00);
        assertEquals(0x90, read(f, 10), "ready + program error");
        write(f, 10, 0x20);
        write(f, 10, 0xD0);
        assertEquals(0xB0, read(f, 10), "ready + erase and program errors");
        write(f, 10, 0x50);
        assertEquals((byte) (10 * 7 + 3) & 0xFF, read(f, 10), "unchanged");
        assertEquals(pattern(4096), b);
        assertTrue(r.changes.isEmpty());
    }

    @Test
    void cfiQueryAndIdentifier() {
        CfiFlash f = new CfiFlash(pattern(0x84000), false, CfiFlash.Listener.NONE);
        write(f, 0, 0x98);
        assertEquals('Q', read(f, 0x10));
        assertEquals('R', read(f, 0x11));
        assertEquals('Y', read(f, 0x12));
        assertEquals(0x01, read(f, 0x13), "Intel command set");
        assertEquals(20, read(f, 0x27), "0x84000 bytes round up to 2^20");
        int blocks = read(f, 0x2D) | read(f, 0x2E) << 8;
        assertEquals(0x84000 / 4096 - 1, blocks);
        assertEquals(4096, (read(f, 0x2F) | read(f, 0x30) << 8) * 256);
        write(f, 0, 0x90);
        assertEquals(0x89, read(f, 0));
        write(f, 0, 0xFF);
        assertEquals(3, read(f, 0));
    }

    @Test
    void wideStatusReadRepeatsTheByte() {
        CfiFlash f = new CfiFlash(pattern(4096), false, CfiFlash.Listener.NONE);
        write(f, 0, 0x70);
        byte[] four = new byte[4];
        f.read(0, four);
        assertArrayEquals(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80}, four);
    }

    @Test
    void resetReturnsToReadArrayKeepingTheContents() {
        Recorder r = new Recorder();
        CfiFlash f = new CfiFlash(pattern(4096), false, r);
        write(f, 0, 0x10);
        write(f, 0, 0x42);
        f.reset();
        assertEquals(0x42, read(f, 0));
        assertEquals(CfiFlash.Mode.READ_ARRAY, f.mode());
        assertEquals(List.of(false, true), r.modes);
    }

    @Test
    void sizeMustBeWholeBlocks() {
        assertThrows(IllegalArgumentException.class, () -> new CfiFlash(ByteBuffer.allocate(4095), false,
                CfiFlash.Listener.NONE));
        assertThrows(IllegalArgumentException.class, () -> new CfiFlash(ByteBuffer.allocate(0), false,
                CfiFlash.Listener.NONE));
    }

    /**
     * Property: any sequence of guest accesses (commands biased towards the real ones, offsets in and out of range,
     * widths 1-8) changes no byte outside the device (guard bytes around its window of a larger buffer), changes no
     * byte inside it that the write's reported range does not cover, leaves an erased block all 0xFF, and reports
     * Read Array mode changes exactly when the mode changes.
     */
    @Test
    void randomAccessSequencesStayInsideTheDevice() {
        int[] commands = {0x00, 0xFF, 0x10, 0x40, 0x20, 0xD0, 0x50, 0x60, 0x01, 0x70, 0x90, 0x98, 0xE8};
        for (long seed = 1; seed <= 100; seed++) {
            Random rnd = new Random(seed);
            int size = (1 + rnd.nextInt(4)) * 4096;
            int guard = 512;
            ByteBuffer whole = ByteBuffer.allocate(size + 2 * guard);
            for (int i = 0; i < whole.capacity(); i++) {
                whole.put(i, (byte) rnd.nextInt(256));
            }
            byte[] guards = whole.array().clone();
            ByteBuffer window = whole.slice(guard, size);
            Recorder r = new Recorder();
            boolean readOnly = rnd.nextInt(4) == 0;
            CfiFlash f = new CfiFlash(window, readOnly, r);
            boolean array = true;
            for (int step = 0; step < 300; step++) {
                long offset = rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextInt(size + 64) - 32;
                int width = 1 << rnd.nextInt(4);
                byte[] data = new byte[width];
                rnd.nextBytes(data);
                if (rnd.nextInt(3) > 0) {
                    data[0] = (byte) commands[rnd.nextInt(commands.length)];
                }
                byte[] before = whole.array().clone();
                CfiFlash.Mode modeBefore = f.mode();
                int changesBefore = r.changes.size();
                if (rnd.nextInt(4) == 0) {
                    f.read(offset, data);
                } else {
                    f.write(offset, data);
                }
                byte[] after = whole.array();
                for (int i = 0; i < after.length; i++) {
                    if (before[i] == after[i]) {
                        continue;
                    }
                    int at = i - guard;
                    assertTrue(at >= 0 && at < size, "seed " + seed + ": wrote outside the device at " + at);
                    boolean covered = false;
                    for (long[] c : r.changes.subList(changesBefore, r.changes.size())) {
                        covered |= at >= c[0] && at < c[0] + c[1];
                    }
                    assertTrue(covered, "seed " + seed + ": unreported change at " + at);
                    assertTrue(!readOnly, "seed " + seed + ": a read-only unit changed");
                }
                for (long[] c : r.changes.subList(changesBefore, r.changes.size())) {
                    assertTrue(c[0] >= 0 && c[0] + c[1] <= size, "seed " + seed + ": change reported outside");
                }
                if (modeBefore == CfiFlash.Mode.ERASE && data[0] == (byte) 0xD0 && !readOnly && offset >= 0
                        && offset < size && r.changes.size() > changesBefore) {
                    int block = (int) (offset & ~4095L);
                    byte[] ones = new byte[4096];
                    Arrays.fill(ones, (byte) 0xFF);
                    assertArrayEquals(ones, Arrays.copyOfRange(after, guard + block, guard + block + 4096),
                            "seed " + seed + ": erased block");
                }
                boolean nowArray = f.mode() == CfiFlash.Mode.READ_ARRAY;
                if (nowArray != array) {
                    assertEquals(nowArray, r.modes.get(r.modes.size() - 1), "seed " + seed);
                }
                array = nowArray;
            }
            assertArrayEquals(Arrays.copyOfRange(guards, 0, guard), Arrays.copyOfRange(whole.array(), 0, guard));
            assertArrayEquals(Arrays.copyOfRange(guards, guard + size, guards.length),
                    Arrays.copyOfRange(whole.array(), guard + size, guards.length));
            for (int i = 1; i < r.modes.size(); i++) {
                assertTrue(r.modes.get(i) != r.modes.get(i - 1), "seed " + seed + ": mode changes alternate");
            }
        }
    }
}
