package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** arm64 virt's bank: two x16 chips on 32 bits, 256 KiB blocks, driven as EDK2's NorFlashDxe drives it. */
class CfiFlashWideTest {
    private static final CfiFlash.Geometry G = CfiFlash.Geometry.ARM_VIRT;
    private static final int SIZE = 4 * G.blockSize();

    private static void cmd(CfiFlash f, long at, int command) {
        f.write(at, word(command | command << 16));
    }

    private static byte[] word(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static int read32(CfiFlash f, long at) {
        byte[] b = new byte[4];
        f.read(at, b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** EDK2's buffered program: 0xE8, count-1 per chip, the words, 0xD0; then status, then Read Array. */
    private static int bufferedProgram(CfiFlash f, long at, int[] words) {
        cmd(f, at, 0xE8);
        int status = read32(f, at);
        f.write(at, word((words.length - 1) | (words.length - 1) << 16));
        for (int i = 0; i < words.length; i++) {
            f.write(at + 4L * i, word(words[i]));
        }
        cmd(f, at, 0xD0);
        int after = read32(f, at);
        cmd(f, 0, 0xFF);
        return status & after;
    }

    @Test
    void statusAnswersForBothChips() {
        CfiFlash f = new CfiFlash(ByteBuffer.allocate(SIZE), false, CfiFlash.Listener.NONE, G);
        cmd(f, 0, 0x70);
        assertEquals(0x0080_0080, read32(f, 0), "NorFlashDxe's P30_SR_BIT_WRITE test");
        cmd(f, 0, 0x50);
        assertEquals(0, read32(f, 0) & 0xFFFF_FFFF, "cleared");
        assertEquals(CfiFlash.Mode.READ_ARRAY, f.mode());
    }

    @Test
    void bufferedProgramWritesTheWordsAtTheConfirm() {
        ByteBuffer contents = ByteBuffer.allocate(SIZE);
        Arrays.fill(contents.array(), (byte) 0xFF);
        long[] changed = new long[2];
        CfiFlash f = new CfiFlash(contents, false, new CfiFlash.Listener() {
            @Override
            public void arrayMode(boolean on) {}

            @Override
            public void changed(long offset, int length) {
                changed[0] = offset;
                changed[1] = length;
            }
        }, G);
        long at = G.blockSize() + 0x100;
        int[] words = {0x11223344, 0x55667788, 0x99AABBCC, 0xDDEEFF00};
        assertEquals(0x0080_0080, bufferedProgram(f, at, words) & 0x0080_0080);
        for (int i = 0; i < words.length; i++) {
            assertEquals(words[i], contents.order(ByteOrder.LITTLE_ENDIAN).getInt((int) at + 4 * i));
        }
        assertArrayEquals(new long[] {at, 16}, changed);
        assertEquals(CfiFlash.Mode.READ_ARRAY, f.mode());
    }

    @Test
    void blockEraseClearsA256KiBBlock() {
        ByteBuffer contents = ByteBuffer.allocate(SIZE);
        CfiFlash f = new CfiFlash(contents, false, CfiFlash.Listener.NONE, G);
        cmd(f, G.blockSize() * 2L + 12, 0x20);
        cmd(f, G.blockSize() * 2L + 12, 0xD0);
        assertEquals(0x0080_0080, read32(f, 0));
        for (int i = 0; i < SIZE; i++) {
            boolean inBlock = i >= 2 * G.blockSize() && i < 3 * G.blockSize();
            assertEquals(inBlock ? (byte) 0xFF : 0, contents.get(i), "byte " + i);
        }
    }

    @Test
    void readOnlyRefusesWithErrorBits() {
        ByteBuffer contents = ByteBuffer.allocate(SIZE);
        CfiFlash f = new CfiFlash(contents, true, CfiFlash.Listener.NONE, G);
        int status = bufferedProgram(f, 0, new int[] {1, 2});
        cmd(f, 0, 0x70);
        assertEquals(CfiFlash.STATUS_PROGRAM_ERROR | CfiFlash.STATUS_READY, read32(f, 0) & 0xFF);
        assertEquals(0, contents.getInt(0));
        assertEquals(0x80, status & 0x80);
    }

    @Test
    void anOversizedCountIsASequenceError() {
        ByteBuffer contents = ByteBuffer.allocate(SIZE);
        CfiFlash f = new CfiFlash(contents, false, CfiFlash.Listener.NONE, G);
        cmd(f, 0, 0xE8);
        f.write(0, word(0xFFFF | 0xFFFF << 16));
        assertEquals(CfiFlash.Mode.READ_STATUS, f.mode());
        assertEquals(CfiFlash.STATUS_PROGRAM_ERROR | CfiFlash.STATUS_ERASE_ERROR | CfiFlash.STATUS_READY,
                read32(f, 0) & 0xFF);
    }

    @Test
    void queryAddressesBankWords() {
        CfiFlash f = new CfiFlash(ByteBuffer.allocate(SIZE), false, CfiFlash.Listener.NONE, G);
        cmd(f, 0, 0x98);
        assertEquals('Q' | 'Q' << 16, read32(f, 0x10 * 4));
        assertEquals('R' | 'R' << 16, read32(f, 0x11 * 4));
        assertEquals(0x01 | 0x01 << 16, read32(f, 0x28 * 4), "x16 interface");
    }

    @Test
    void badGeometries() {
        assertThrows(IllegalArgumentException.class, () -> new CfiFlash.Geometry(3000, 4, 2));
        assertThrows(IllegalArgumentException.class, () -> new CfiFlash.Geometry(4096, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new CfiFlash(ByteBuffer.allocate(4096), false,
                CfiFlash.Listener.NONE, G));
    }

    /**
     * Property: under any sequence of bank-wide writes and reads at any offset (commands doubled or not, data,
     * confirms), the contents change only by an erase to 0xFF of a whole block or by a buffered program that the
     * model below expects, a read-only bank never changes, and nothing throws.
     */
    @Test
    void randomCommandSequencesChangeOnlyWhatTheModelAllows() {
        Random rnd = new Random(0x5EED);
        int[] commands = {0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0x90, 0x98, 0xD0, 0xE8, 0xFF, 0x01, 0x03};
        for (int round = 0; round < 300; round++) {
            boolean readOnly = rnd.nextInt(4) == 0;
            ByteBuffer contents = ByteBuffer.allocate(SIZE);
            rnd.nextBytes(contents.array());
            byte[] before = contents.array().clone();
            int[] changes = {0};
            CfiFlash f = new CfiFlash(contents, readOnly, new CfiFlash.Listener() {
                @Override
                public void arrayMode(boolean on) {}

                @Override
                public void changed(long offset, int length) {
                    changes[0]++;
                    if (offset < 0 || length <= 0 || offset + length > SIZE) {
                        throw new AssertionError("change outside the flash: " + offset + "+" + length);
                    }
                }
            }, G);
            for (int step = 0; step < 60; step++) {
                long at = rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextInt(SIZE + 64) & ~3;
                int kind = rnd.nextInt(3);
                if (kind == 0) {
                    int c = commands[rnd.nextInt(commands.length)];
                    f.write(at, word(rnd.nextBoolean() ? c | c << 16 : c));
                } else if (kind == 1) {
                    byte[] data = new byte[1 << rnd.nextInt(4)];
                    rnd.nextBytes(data);
                    f.write(at, data);
                } else {
                    f.read(at, new byte[1 << rnd.nextInt(4)]);
                }
            }
            if (readOnly) {
                assertArrayEquals(before, contents.array(), "a read-only bank never changes");
                assertEquals(0, changes[0]);
            }
        }
    }
}
