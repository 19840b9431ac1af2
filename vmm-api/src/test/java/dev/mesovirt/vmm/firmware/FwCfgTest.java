package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FwCfgTest {
    private final GuestMemory memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)));
    private final byte[] e820 = new byte[40];
    private final FwCfg fw = FwCfg.builder().number(FwCfg.NB_CPUS, 2, 2).number(FwCfg.RAM_SIZE, 512L << 20, 8)
            .file("etc/e820", e820).file("bootorder", "/pci@i0cf8/*@3\n".getBytes()).build(memory);

    @AfterEach
    void close() {
        memory.close();
    }

    private void select(int key) {
        fw.write(FwCfg.SELECTOR, new byte[] {(byte) key, (byte) (key >> 8)});
    }

    private byte[] data(int n) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[1];
            fw.read(FwCfg.DATA, b);
            out[i] = b[0];
        }
        return out;
    }

    /** A DMA request at {@code at}: the control word written back. */
    private int dma(long at, int control, int length, long target) {
        memory.write(at, ByteBuffer.allocate(16).putInt(control).putInt(length).putLong(target).array());
        fw.write(FwCfg.DMA, ByteBuffer.allocate(4).putInt((int) (at >>> 32)).array());
        fw.write(FwCfg.DMA + 4, ByteBuffer.allocate(4).putInt((int) at).array());
        return ByteBuffer.wrap(memory.read(at, 4)).getInt();
    }

    @Test
    void signatureIdAndNumbersThroughThePorts() {
        select(FwCfg.SIGNATURE);
        assertEquals("QEMU", new String(data(4), StandardCharsets.US_ASCII));
        select(FwCfg.ID);
        assertEquals(3, ByteBuffer.wrap(data(4)).order(ByteOrder.LITTLE_ENDIAN).getInt(), "traditional + DMA");
        select(FwCfg.NB_CPUS);
        assertArrayEquals(new byte[] {2, 0, 0}, data(3), "0 past the end");
        select(FwCfg.RAM_SIZE);
        assertEquals(512L << 20, ByteBuffer.wrap(data(8)).order(ByteOrder.LITTLE_ENDIAN).getLong());
        byte[] sig = new byte[8];
        fw.read(FwCfg.DMA, sig);
        assertEquals("QEMU CFG", new String(sig, StandardCharsets.US_ASCII));
    }

    @Test
    void fileDirectoryIsBigEndianWithNames() {
        select(FwCfg.FILE_DIR);
        ByteBuffer dir = ByteBuffer.wrap(data(4 + 2 * 64));
        assertEquals(2, dir.getInt());
        assertEquals(40, dir.getInt());
        assertEquals(FwCfg.FILE_FIRST, dir.getShort());
        dir.getShort();
        byte[] name = new byte[56];
        dir.get(name);
        assertEquals("etc/e820", new String(name, StandardCharsets.US_ASCII).trim().replace("\0", ""));
        assertEquals(15, dir.getInt());
        assertEquals(FwCfg.FILE_FIRST + 1, dir.getShort());
        assertEquals(List.of("etc/e820", "bootorder"), fw.fileNames());
    }

    @Test
    void dmaSelectReadSkipAndZeroFill() {
        assertEquals(0, dma(0x1000, FwCfg.FILE_FIRST + 1 << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_SKIP, 5, 0));
        assertEquals(0, dma(0x1000, FwCfg.DMA_READ, 20, 0x2000));
        byte[] got = memory.read(0x2000, 20);
        byte[] want = new byte[20];
        System.arraycopy("i0cf8/*@3\n".getBytes(), 0, want, 0, 10);
        assertArrayEquals(want, got, "from offset 5, zeros past the end");
    }

    @Test
    void dmaOutsideGuestMemoryIsAnErrorAndTouchesNothing() {
        memory.write(0xFF000, new byte[4096]);
        // Target beyond RAM, and one that straddles its end.
        assertEquals(FwCfg.DMA_ERROR, dma(0x1000, FwCfg.SIGNATURE << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ, 4,
                2L << 20));
        assertEquals(FwCfg.DMA_ERROR, dma(0x1000, FwCfg.DMA_SELECT | FwCfg.DMA_READ, 16, (1 << 20) - 8));
        assertArrayEquals(new byte[8], memory.read((1 << 20) - 8, 8));
        assertEquals(FwCfg.DMA_ERROR, dma(0x1000, FwCfg.DMA_READ, -1, 0), "a 4 GiB length");
        assertEquals(FwCfg.DMA_ERROR, dma(0x1000, FwCfg.DMA_WRITE, 4, 0x2000), "nothing is writable");
        // A control structure outside RAM: ignored (no exception, nothing written).
        fw.write(FwCfg.DMA, ByteBuffer.allocate(8).putLong(Long.MIN_VALUE).array());
    }

    /**
     * A request whose 16 bytes run past RAM's end cannot be read: ERROR in its control word when that word is in RAM
     * (QEMU's failed dma_memory_read), nothing when it is not. FwCfgFuzzTarget's model of QEMU found that the device
     * ignored the first.
     */
    @Test
    void aRequestAcrossTheEndOfRamGetsErrorInItsControlWord() {
        long end = 1 << 20;
        memory.write(end - 8, ByteBuffer.allocate(8).putInt(FwCfg.DMA_READ).putInt(4).array());
        fw.write(FwCfg.DMA, ByteBuffer.allocate(8).putLong(end - 8).array());
        assertEquals(FwCfg.DMA_ERROR, ByteBuffer.wrap(memory.read(end - 8, 4)).getInt());
        assertEquals(4, ByteBuffer.wrap(memory.read(end - 4, 4)).getInt(), "the rest as it was");
        memory.write(end - 3, new byte[] {1, 2, 3});
        fw.write(FwCfg.DMA, ByteBuffer.allocate(8).putLong(end - 3).array());
        assertArrayEquals(new byte[] {1, 2, 3}, memory.read(end - 3, 3), "no whole control word in RAM: untouched");
    }

    /**
     * Every transfer clears the DMA address, as QEMU's does: after a high half and a 64-bit write, a low half alone
     * starts a transfer below 4 GiB. Found by FwCfgFuzzTarget
     * (FwCfgFuzzTargetInputs/guest/crash-ecef5a361396a6e385405a659801176f65ca7a40): the 64-bit write left the high half.
     */
    @Test
    void everyTransferClearsTheDmaAddress() {
        fw.write(FwCfg.DMA, ByteBuffer.allocate(4).putInt(1).array()); // a high half: 4 GiB up
        memory.write(0x1000, ByteBuffer.allocate(16).putInt(FwCfg.SIGNATURE << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ)
                .putInt(4).putLong(0x3000).array());
        fw.write(FwCfg.DMA, ByteBuffer.allocate(8).putLong(0x1000).array());
        assertEquals(0, ByteBuffer.wrap(memory.read(0x1000, 4)).getInt());
        memory.write(0x2000, ByteBuffer.allocate(16).putInt(FwCfg.SIGNATURE << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ)
                .putInt(4).putLong(0x4000).array());
        fw.write(FwCfg.DMA + 4, ByteBuffer.allocate(4).putInt(0x2000).array());
        assertEquals(0, ByteBuffer.wrap(memory.read(0x2000, 4)).getInt(), "the request at 0x2000 was served");
        assertEquals("QEMU", new String(memory.read(0x4000, 4), StandardCharsets.US_ASCII));
    }

    /** A zero length, or no operation bit, is nothing to do wherever the target is (QEMU's loop does not run). */
    @Test
    void aZeroLengthIsNothingToDo() {
        assertEquals(0, dma(0x1000, FwCfg.DMA_READ, 0, 1L << 40));
        assertEquals(0, dma(0x1000, FwCfg.DMA_WRITE, 0, 0x2000));
        assertEquals(0, dma(0x1000, FwCfg.DMA_SELECT | FwCfg.ID << 16, 100, 1L << 40), "select only");
        assertEquals(FwCfg.DMA_ERROR, dma(0x1000, FwCfg.DMA_WRITE, 1, 0x2000), "a write of a byte is refused");
    }

    /** Property: random DMA requests never change guest RAM outside the request's target and control word. */
    @Test
    void randomDmaRequestsStayInTheirRanges() {
        Random rnd = new Random(7);
        for (int n = 0; n < 400; n++) {
            long at = rnd.nextInt(1 << 20) & ~15L;
            int control = rnd.nextInt(0x40) | (rnd.nextBoolean() ? (FwCfg.FILE_FIRST + rnd.nextInt(3)) << 16 : 0);
            int length = rnd.nextInt(8) == 0 ? rnd.nextInt() : rnd.nextInt(300);
            long target = rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextInt((1 << 20) + 1000);
            memory.write(at, ByteBuffer.allocate(16).putInt(control).putInt(length).putLong(target).array());
            byte[] before = memory.read(0, 1 << 20);
            fw.write(FwCfg.DMA, ByteBuffer.allocate(8).putLong(at).array());
            byte[] after = memory.read(0, 1 << 20);
            for (int i = 0; i < after.length; i++) {
                if (before[i] != after[i]) {
                    boolean inControl = i >= at && i < at + 4;
                    boolean inTarget = i >= target && i < target + Integer.toUnsignedLong(length);
                    assertEquals(true, inControl || inTarget, "request " + n + " changed byte " + i);
                }
            }
        }
    }

    @Test
    void builderRefusesReservedKeysAndLongNames() {
        assertThrows(IllegalArgumentException.class, () -> FwCfg.builder().item(FwCfg.FILE_DIR, new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> FwCfg.builder().file("x".repeat(56), new byte[1]));
        assertThrows(IllegalArgumentException.class, () -> FwCfg.builder().file("a", new byte[1]).file("a", new byte[1]));
    }

    /** A machine reset: the signature selected again at offset 0, and a half-written DMA address forgotten. */
    @Test
    void resetClearsTheSelectionAndTheDmaAddress() {
        select(FwCfg.RAM_SIZE);
        data(3);
        // The high half of a DMA address that points past RAM, then a reset, then the low half of a good one.
        fw.write(FwCfg.DMA, ByteBuffer.allocate(4).putInt(1).array());
        fw.reset();
        assertArrayEquals("QEMU".getBytes(StandardCharsets.US_ASCII), data(4), "the signature, from its start");
        memory.write(0x1000, ByteBuffer.allocate(16).putInt(FwCfg.DMA_SELECT | FwCfg.NB_CPUS << 16 | FwCfg.DMA_READ)
                .putInt(2).putLong(0x2000).array());
        fw.write(FwCfg.DMA + 4, ByteBuffer.allocate(4).putInt(0x1000).array());
        assertEquals(0, ByteBuffer.wrap(memory.read(0x1000, 4)).getInt(), "the request ran at 0x1000, not 4 GiB up");
        assertArrayEquals(new byte[] {2, 0}, memory.read(0x2000, 2));
    }
}
