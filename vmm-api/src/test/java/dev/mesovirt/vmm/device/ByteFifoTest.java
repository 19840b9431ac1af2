package dev.mesovirt.vmm.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The UARTs' receive FIFO: order across the ring's wrap, the fill limit, snapshot contents and restore. */
class ByteFifoTest {
    @Test
    void bytesComeOutInOrderUpToTheLimit() {
        ByteFifo f = new ByteFifo(4);
        assertEquals(-1, f.pop());
        assertEquals(3, f.push(new byte[] {1, 2, 3, 4, 5}, 0, 5, 3), "a limit below the capacity (FIFO off: 1)");
        assertFalse(f.push((byte) 9, 3));
        assertEquals(1, f.pop());
        assertEquals(2, f.push(new byte[] {6, 7, 8}, 0, 3, 4));
        assertArrayEquals(new byte[] {2, 3, 6, 7}, f.contents(), "oldest first across the wrap");
        assertFalse(f.push((byte) 9, 100), "never past the capacity");
        assertEquals(2, f.pop());
        assertEquals(3, f.pop());
        assertEquals(6, f.pop());
        assertEquals(7, f.pop());
        assertEquals(0, f.size());
        assertTrue(f.push((byte) 0xFF, 4));
        assertEquals(0xFF, f.pop(), "bytes are unsigned");
    }

    @Test
    void restoreHoldsASnapshotsBytes() {
        ByteFifo f = new ByteFifo(4);
        f.push(new byte[] {1, 2, 3}, 0, 3, 4);
        f.pop();
        f.restore(new byte[] {7, 8, 9, 10});
        assertArrayEquals(new byte[] {7, 8, 9, 10}, f.contents());
        assertFalse(f.fits(new byte[5]));
        assertThrows(IllegalArgumentException.class, () -> f.restore(new byte[5]));
        f.clear();
        assertEquals(0, f.size());
        assertEquals(-1, f.pop());
    }
}
