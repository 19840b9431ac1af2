package dev.mesovirt.vmm.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The PL011 as EDK2's PL011UartLib and Linux's amba-pl011 drive it. */
class Pl011Test {
    private final List<Boolean> irq = new CopyOnWriteArrayList<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final SerialBackend backend = SerialBackend.of(null, out);
    private final Pl011 uart = new Pl011(irq::add, backend);

    @AfterEach
    void close() {
        backend.close();
    }

    private int rd32(int offset) {
        byte[] b = new byte[4];
        uart.read(offset, b);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    private int rd16(int offset) {
        byte[] b = new byte[2];
        uart.read(offset, b);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8;
    }

    private void wr32(int offset, int v) {
        uart.write(offset, new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)});
    }

    private boolean level() {
        return !irq.isEmpty() && irq.get(irq.size() - 1);
    }

    @Test
    void powerOnState() {
        assertEquals(Pl011.FR_TXFE | Pl011.FR_RXFE, rd32(Pl011.FR));
        assertEquals(0x300, rd32(Pl011.CR));
        assertEquals(0x12, rd32(Pl011.IFLS));
        assertEquals(0, rd32(Pl011.IMSC));
        assertEquals(0, rd32(Pl011.LCR_H));
        assertEquals(Pl011.INT_TX, rd32(Pl011.RIS), "room to transmit");
        assertEquals(0, rd32(Pl011.MIS));
        assertEquals(0x1000, uart.length());
        assertTrue(irq.isEmpty());
    }

    @Test
    void primeCellIdentification() {
        int[] want = {0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], rd32(0xFE0 + 4 * i), "id register 0x" + Integer.toHexString(0xFE0 + 4 * i));
        }
        // EDK2 reads PeriphID2's revision (bits 7-4) for the FIFO depth: r1p5 (> r1p4) has 32 entries.
        assertEquals(1, rd32(0xFE8) >> 4);
    }

    @Test
    void transmitGoesOutAtOnceWhateverTheWidth() {
        uart.write(Pl011.DR, new byte[] {'O'});
        wr32(Pl011.DR, 'K');
        uart.write(Pl011.DR, new byte[] {'!', 0x0F});
        uart.write(Pl011.DR + 1, new byte[] {'x'}); // the error-bit byte of DR: not data
        backend.flush();
        assertEquals("OK!", out.toString(StandardCharsets.ISO_8859_1));
        assertEquals(0, rd32(Pl011.FR) & Pl011.FR_TXFF, "never full");
    }

    @Test
    void baudLineAndControlRegistersKeepWhatIsWritten() {
        wr32(Pl011.CR, 0); // EDK2 disables the UART while it programs it
        wr32(Pl011.IBRD, 0x1A);
        wr32(Pl011.FBRD, 0xFF);
        wr32(Pl011.LCR_H, 0x70);
        wr32(Pl011.CR, 0x301);
        wr32(Pl011.ILPR, 0x1234);
        wr32(Pl011.DMACR, 0xFF);
        assertEquals(0x1A, rd32(Pl011.IBRD));
        assertEquals(0x3F, rd32(Pl011.FBRD));
        assertEquals(0x70, rd32(Pl011.LCR_H));
        assertEquals(0x301, rd32(Pl011.CR));
        assertEquals(0x34, rd32(Pl011.ILPR));
        assertEquals(0x7, rd32(Pl011.DMACR));
        assertEquals(0x301, rd16(Pl011.CR), "16-bit reads, as Linux's readw");
        byte[] high = new byte[1];
        uart.read(Pl011.CR + 1, high);
        assertEquals(0x03, high[0]);
    }

    @Test
    void receiveFillsTheFifoAndRaisesTheMaskedInterrupts() {
        wr32(Pl011.LCR_H, Pl011.LCR_H_FEN);
        assertEquals(3, uart.offer("abc".getBytes(StandardCharsets.US_ASCII), 0, 3));
        assertEquals(0, rd32(Pl011.FR) & Pl011.FR_RXFE);
        assertEquals(Pl011.INT_TX | Pl011.INT_RX | Pl011.INT_RT, rd32(Pl011.RIS));
        assertTrue(irq.isEmpty(), "masked");
        wr32(Pl011.IMSC, Pl011.INT_RX | Pl011.INT_RT); // Linux's startup
        assertTrue(level());
        assertEquals(Pl011.INT_RX | Pl011.INT_RT, rd32(Pl011.MIS));
        wr32(Pl011.ICR, 0x7FF);
        assertTrue(level(), "ICR does not hide bytes still in the FIFO");
        assertEquals('a', rd32(Pl011.DR));
        assertEquals('b', rd16(Pl011.DR));
        byte[] one = new byte[1];
        uart.read(Pl011.DR, one);
        assertEquals('c', one[0]);
        assertFalse(level());
        assertEquals(Pl011.FR_TXFE | Pl011.FR_RXFE, rd32(Pl011.FR));
        assertEquals(0, rd32(Pl011.DR), "empty FIFO reads 0");
    }

    @Test
    void theTransmitInterruptFollowsItsMask() {
        wr32(Pl011.IMSC, Pl011.INT_TX);
        assertTrue(level(), "room to transmit: Linux's TX interrupt fires while it wants it");
        wr32(Pl011.IMSC, 0);
        assertFalse(level());
    }

    @Test
    void withoutFifosOneByteIsHeldAndTheRestWaits() {
        assertEquals(1, uart.offer(new byte[] {1, 2, 3}, 0, 3));
        assertEquals(Pl011.FR_TXFE | Pl011.FR_RXFF, rd32(Pl011.FR));
        assertEquals(0, uart.offer(new byte[] {2}, 0, 1));
        wr32(Pl011.LCR_H, Pl011.LCR_H_FEN); // switching the FIFOs on flushes them
        assertEquals(Pl011.FR_TXFE | Pl011.FR_RXFE, rd32(Pl011.FR));
        byte[] many = new byte[40];
        assertEquals(Pl011.FIFO_SIZE, uart.offer(many, 0, many.length));
        assertTrue((rd32(Pl011.FR) & Pl011.FR_RXFF) != 0);
        assertThrows(IndexOutOfBoundsException.class, () -> uart.offer(many, 30, 20));
    }

    @Test
    void resetEmptiesTheFifoAndDropsTheLine() {
        wr32(Pl011.LCR_H, Pl011.LCR_H_FEN);
        wr32(Pl011.IMSC, Pl011.INT_RX);
        uart.offer(new byte[] {9}, 0, 1);
        assertTrue(level());
        uart.reset();
        assertFalse(level());
        assertEquals(0, rd32(Pl011.IMSC));
        assertEquals(Pl011.FR_TXFE | Pl011.FR_RXFE, rd32(Pl011.FR));
    }

    @Test
    void reservedOffsetsReadZeroAndIgnoreWrites() {
        wr32(0x100, 0xFFFF_FFFF);
        assertEquals(0, rd32(0x100));
        assertEquals(0, rd32(Pl011.RSR));
        assertEquals(0, rd32(Pl011.ICR));
        uart.read(0, new byte[0]);
        uart.write(0, new byte[0]);
    }

    @Test
    void snapshotRoundTrip() {
        wr32(Pl011.LCR_H, Pl011.LCR_H_FEN | 0x60);
        wr32(Pl011.IBRD, 13);
        wr32(Pl011.IMSC, Pl011.INT_RX);
        uart.offer(new byte[] {'x', 'y'}, 0, 2);
        assertEquals('x', rd32(Pl011.DR));
        byte[] state = uart.saveState();
        List<Boolean> lines = new CopyOnWriteArrayList<>();
        Pl011 copy = new Pl011(lines::add, SerialBackend.none());
        copy.restoreState(new dev.mesovirt.vmm.snapshot.Section("serial0", uart.stateVersion(), state));
        assertEquals(List.of(true), lines);
        assertArrayEquals(state, copy.saveState());
        byte[] b = new byte[4];
        copy.read(Pl011.DR, b);
        assertEquals('y', b[0]);
        copy.read(Pl011.IBRD, b);
        assertEquals(13, b[0]);
        assertThrows(dev.mesovirt.vmm.snapshot.SnapshotException.class,
                () -> copy.restoreState(new dev.mesovirt.vmm.snapshot.Section("serial0", 99, state)));
    }
}
