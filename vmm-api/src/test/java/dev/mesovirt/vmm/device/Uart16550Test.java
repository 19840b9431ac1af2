package dev.mesovirt.vmm.device;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class Uart16550Test {
    private static final int DATA = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

    private final List<Boolean> irq = new CopyOnWriteArrayList<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final SerialBackend backend = SerialBackend.of(null, out);
    private Uart16550 uart = new Uart16550(irq::add, backend, false);

    @AfterEach
    void close() {
        backend.close();
    }

    private int rd(int reg) {
        byte[] b = new byte[1];
        uart.read(reg, b);
        return b[0] & 0xFF;
    }

    private void wr(int reg, int value) {
        uart.write(reg, new byte[] {(byte) value});
    }

    @Test
    void powerOnState() {
        assertEquals(0x01, rd(IIR));
        assertEquals(0x60, rd(LSR));
        assertEquals(0xB0, rd(MSR));
        assertEquals(0x08, rd(MCR));
        assertEquals(0x00, rd(LCR));
        assertEquals(0x00, rd(IER));
        assertEquals(8, uart.length());
        assertTrue(irq.isEmpty());
    }

    @Test
    void dlabSelectsTheDivisorLatch() {
        wr(LCR, 0x83);
        assertEquals(0x0C, rd(DATA), "default divisor low byte");
        wr(DATA, 0x01);
        wr(IER, 0x02);
        assertEquals(0x01, rd(DATA));
        assertEquals(0x02, rd(IER));
        wr(LCR, 0x03);
        assertEquals(0x00, rd(IER), "DLM write must not reach IER");
        assertEquals(0x03, rd(LCR));
        wr(DATA, 'Z');
        backend.flush();
        assertEquals("Z", out.toString(StandardCharsets.US_ASCII), "THR again once DLAB is clear");
        wr(LCR, 0x80);
        assertEquals(0x01, rd(DATA), "divisor kept");
        assertEquals(0x02, rd(IER));
    }

    @Test
    void scratchAndIerMask() {
        wr(SCR, 0xA5);
        assertEquals(0xA5, rd(SCR));
        wr(IER, 0xFF);
        assertEquals(0x0F, rd(IER), "upper IER bits are reserved on a 16550A");
    }

    @Test
    void lsrReportsDataAndOverrun() {
        uart.receive(new byte[] {'a'});
        assertEquals(0x61, rd(LSR));
        uart.receive(new byte[] {'b'}); // no FIFO: one holding register
        assertEquals(0x63, rd(LSR), "DR|OE|THRE|TEMT");
        assertEquals(0x61, rd(LSR), "reading LSR clears OE");
        assertEquals('a', rd(DATA));
        assertEquals(0x60, rd(LSR));
        assertEquals('a', rd(DATA), "an empty RBR reads back the last byte");
    }

    @Test
    void fifoModeHolds64BytesAndOverruns() {
        wr(FCR, 0x01);
        assertEquals(0xC1, rd(IIR), "FIFO-enabled bits");
        byte[] data = new byte[65];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        uart.receive(data);
        assertEquals(0x63, rd(LSR));
        for (int i = 0; i < 64; i++) {
            assertEquals(i, rd(DATA));
        }
        assertEquals(0x60, rd(LSR), "byte 65 was dropped");
        wr(FCR, 0x00);
        assertEquals(0x01, rd(IIR), "FIFO-enabled bits clear again");
    }

    @Test
    void fcrClearsTheReceiveFifo() {
        wr(FCR, 0x01);
        uart.receive("hello".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0x61, rd(LSR));
        wr(FCR, 0x03);
        assertEquals(0x60, rd(LSR));
        uart.receive("x".getBytes(StandardCharsets.US_ASCII));
        wr(FCR, 0x00); // leaving FIFO mode resets the FIFO
        assertEquals(0x60, rd(LSR));
    }

    @Test
    void interruptPriorities() {
        wr(IER, 0x0F);
        assertEquals(0x02, rd(IIR) & 0x0F, "THRE raised on enabling ETBEI");
        wr(IER, 0x0D);
        wr(IER, 0x0F);
        uart.receive(new byte[] {'a'});
        assertEquals(0x04, rd(IIR), "data beats THRE");
        uart.receive(new byte[] {'b'}); // overrun
        assertEquals(0x06, rd(IIR), "line status beats data");
        rd(LSR);
        assertEquals(0x04, rd(IIR));
        rd(DATA);
        assertEquals(0x02, rd(IIR), "THRE still pending");
        assertEquals(0x01, rd(IIR), "reading IIR acknowledged THRE");
        wr(MCR, 0x18); // loopback changes the modem inputs
        assertEquals(0x00, rd(IIR), "modem status");
        int msr = rd(MSR);
        assertEquals(0x80 | 0x03, msr, "DCD from OUT2; CTS and DSR dropped");
        assertEquals(0x01, rd(IIR), "reading MSR clears the deltas");
    }

    @Test
    void threInterruptOnEnableAndAfterWrites() {
        assertEquals(0x01, rd(IIR));
        wr(IER, 0x02);
        assertEquals(0x02, rd(IIR));
        assertEquals(0x01, rd(IIR));
        wr(IER, 0x02);
        assertEquals(0x01, rd(IIR), "ETBEI already set: no new interrupt");
        wr(IER, 0x00);
        wr(IER, 0x02);
        assertEquals(0x02, rd(IIR), "re-enabling ETBEI re-raises THRE (Linux's UART_BUG_THRE probe)");
        assertEquals(0x01, rd(IIR));
        wr(DATA, 'x');
        assertEquals(0x02, rd(IIR), "THR empties at once after a write");
        wr(IER, 0x00);
        assertEquals(0x01, rd(IIR));
    }

    @Test
    void loopbackFeedsTransmitterToReceiver() {
        wr(MCR, 0x1A); // LOOP | OUT2 | RTS: Linux's autoconfig check
        assertEquals(0x90, rd(MSR) & 0xF0);
        wr(MCR, 0x1F);
        assertEquals(0xF0, rd(MSR) & 0xF0);
        assertFalse(uart.canReceive(), "the line is disconnected in loopback");
        uart.receive(new byte[] {'q'});
        assertEquals(0, uart.offer(new byte[] {'q'}, 0, 1));
        wr(DATA, 'L');
        assertEquals(0x61, rd(LSR));
        assertEquals('L', rd(DATA));
        wr(MCR, 0x0B);
        assertEquals(0xB0, rd(MSR) & 0xF0);
        assertTrue(uart.canReceive());
        backend.flush();
        assertEquals(0, out.size(), "loopback bytes never reach the backend");
    }

    @Test
    void loopbackTrailingEdgeOfRing() {
        wr(MCR, 0x14); // LOOP | OUT1: RI
        rd(MSR);
        wr(MCR, 0x10);
        assertEquals(0x04, rd(MSR) & 0x0F, "TERI on RI falling");
    }

    @Test
    void out2GatesTheInterruptOnPcs() {
        List<Boolean> gated = new CopyOnWriteArrayList<>();
        uart = new Uart16550(gated::add, backend, 0, true);
        wr(MCR, 0x03); // DTR|RTS, OUT2 clear
        wr(IER, 0x02);
        assertEquals(0x02, rd(IIR) & 0x0F);
        wr(IER, 0x00);
        wr(IER, 0x02);
        assertTrue(gated.isEmpty(), "no interrupt while OUT2 is clear");
        wr(MCR, 0x0B);
        assertEquals(List.of(true), gated);
        wr(MCR, 0x1B); // loopback forces OUT2 inactive
        assertEquals(List.of(true, false), gated);
        wr(MCR, 0x0B);
        wr(MCR, 0x03);
        assertEquals(List.of(true, false, true, false), gated);
    }

    @Test
    void mmioUartIsNotGated() {
        wr(MCR, 0x00);
        wr(IER, 0x02);
        assertEquals(List.of(true), irq);
    }

    @Test
    void irqLineCalledOnlyOnChanges() {
        wr(IER, 0x01);
        assertTrue(irq.isEmpty());
        uart.receive(new byte[] {'a'});
        uart.receive(new byte[] {'b'}); // overrun, still pending
        rd(LSR);
        assertEquals(List.of(true), irq);
        rd(DATA);
        assertEquals(List.of(true, false), irq);
        wr(IER, 0x03);
        wr(DATA, 'x');
        wr(DATA, 'y');
        rd(IIR);
        assertEquals(List.of(true, false, true, false), irq);
        for (int i = 1; i < irq.size(); i++) {
            assertFalse(irq.get(i).equals(irq.get(i - 1)), "consecutive calls must differ: " + irq);
        }
    }

    @Test
    void outputReachesTheBackend() {
        for (byte b : "hello, world\r\n".getBytes(StandardCharsets.US_ASCII)) {
            wr(DATA, b);
        }
        backend.flush();
        assertEquals("hello, world\r\n", out.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void outputIsFlushedWithoutBeingAsked() throws Exception {
        wr(DATA, '$');
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (out.size() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals("$", out.toString(StandardCharsets.US_ASCII), "a partial line must not stay buffered");
    }

    @Test
    void receivePathRaisesDataAvailable() {
        wr(FCR, 0x07);
        wr(IER, 0x01);
        byte[] data = new byte[100];
        assertEquals(64, uart.offer(data, 0, 100), "offer takes what fits");
        assertEquals(0, uart.offer(data, 0, 100));
        assertFalse(uart.canReceive());
        assertEquals(List.of(true), irq);
        assertEquals(0xC4, rd(IIR));
        rd(DATA);
        assertTrue(uart.canReceive());
        assertEquals(1, uart.offer(new byte[] {7}, 0, 1));
        assertEquals(0x61, rd(LSR), "offer never overruns");
    }

    @Test
    void backPressureWakesTheInputThreadWhenTheGuestReads() throws Exception {
        byte[] input = new byte[1000];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) (i * 7);
        }
        SerialBackend in = SerialBackend.of(new java.io.ByteArrayInputStream(input), new ByteArrayOutputStream());
        Uart16550 u = new Uart16550(IrqLine.NONE, in, false);
        u.write(2, new byte[] {1}); // FIFO on first: switching FIFO mode discards what was received
        in.start(u);
        byte[] b = new byte[1];
        byte[] lsr = new byte[1];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (int i = 0; i < input.length; i++) {
            do {
                u.read(LSR, lsr);
                assertTrue(System.nanoTime() < deadline, "input stalled at byte " + i);
            } while ((lsr[0] & 1) == 0);
            assertEquals(0, lsr[0] & 0x02, "no overrun with back-pressure");
            u.read(DATA, b);
            assertEquals(input[i], b[0], "byte " + i);
        }
        in.close();
    }

    @Test
    void awaitRoomReturnsWhenSpaceAppears() throws Exception {
        uart.receive(new byte[] {1}); // non-FIFO: full with one byte
        CountDownLatch woke = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                uart.awaitRoom(10_000);
                woke.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        Thread.sleep(50);
        rd(DATA);
        assertTrue(woke.await(5, TimeUnit.SECONDS));
        t.join();
    }

    @Test
    void registerShiftAndWideAccesses() {
        uart = new Uart16550(irq::add, backend, 2, false);
        assertEquals(32, uart.length());
        byte[] four = new byte[4];
        uart.write(3 << 2, new byte[] {(byte) 0x83, 0x55, 0x55, 0x55});
        uart.read(3 << 2, four);
        assertArrayEquals(new byte[] {(byte) 0x83, 0, 0, 0}, four);
        uart.read(0, four);
        assertEquals(0x0C, four[0], "DLL through a shifted, 32-bit access");
        uart.write(3 << 2, new byte[] {3, 0, 0, 0});
        uart.read((5 << 2) + 1, four);
        assertArrayEquals(new byte[] {0x60, 0, 0, 0}, four, "offset >> shift gives LSR");
        uart.read(8 << 2, four);
        assertArrayEquals(new byte[4], four, "beyond the registers reads zero");
        uart.write(8 << 2, new byte[] {1});
    }

    @Test
    void resetRestoresPowerOnState() {
        wr(IER, 0x02);
        wr(LCR, 0x1B);
        uart.receive(new byte[] {1});
        uart.reset();
        assertEquals(0x01, rd(IIR));
        assertEquals(0x60, rd(LSR));
        assertEquals(0x00, rd(LCR));
        assertEquals(List.of(true, false), irq);
    }
}
