package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.device.IrqLine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class Pl061Test {
    private static final Irq IRQ = Gicv3.spi(Gicv3.POWER_BUTTON_SPI, true);
    private static final int BUTTON = 1 << Pl061.POWER_BUTTON_LINE;

    /** Every level the device drives, in order. */
    private static final class Line implements IrqLine {
        final List<Boolean> levels = new ArrayList<>();
        final LinkedBlockingQueue<Long> rises = new LinkedBlockingQueue<>();

        @Override
        public synchronized void set(boolean level) {
            levels.add(level);
            if (level) {
                rises.add(System.nanoTime());
            }
        }

        synchronized List<Boolean> levels() {
            return List.copyOf(levels);
        }
    }

    private final Line line = new Line();
    private final Pl061 gpio = new Pl061(IRQ, line);

    private int readb(int offset) {
        byte[] b = new byte[1];
        gpio.read(offset, b);
        return b[0] & 0xff;
    }

    private int readl(int offset) {
        byte[] b = new byte[4];
        gpio.read(offset, b);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }

    private void writeb(int offset, int value) {
        gpio.write(offset, new byte[] {(byte) value});
    }

    private void writel(int offset, int value) {
        gpio.write(offset, new byte[] {(byte) value, (byte) (value >> 8), (byte) (value >> 16), (byte) (value >> 24)});
    }

    /** GPIODATA at the address whose bits [9:2] are {@code mask}. */
    private static int data(int mask) {
        return mask << 2;
    }

    @Test
    void primeCellIdAsTheAmbaBusReadsIt() {
        // drivers/amba/bus.c: one byte from each of the last eight words of the window, periph then cell ID.
        int pid = 0;
        int cid = 0;
        for (int i = 0; i < 4; i++) {
            pid |= (readl(0xFE0 + 4 * i) & 0xff) << (8 * i);
            cid |= (readl(0xFF0 + 4 * i) & 0xff) << (8 * i);
        }
        assertEquals(0x0004_1061, pid);
        assertEquals(0xB105_F00D, cid);
        // gpio-pl061's amba_id: 0x00041061 under mask 0x000fffff.
        assertEquals(0x0004_1061, pid & 0x000F_FFFF);
        assertEquals(0x61, readb(0xFE0));
        assertEquals(0xB1, readb(0xFFC));
        assertEquals(0, readl(0xFD0));
        assertEquals(0, readb(0xFE1));
        // Read-only.
        writel(0xFE0, 0);
        assertEquals(0x61, readl(0xFE0));
    }

    @Test
    void powerOnValues() {
        for (int r = 0x000; r <= 0x420; r += 4) {
            assertEquals(0, readl(r), "register 0x" + Integer.toHexString(r));
        }
        assertFalse(gpio.interruptLine());
        assertEquals(IRQ, gpio.irq());
    }

    @Test
    void dataReadsAreMaskedByAddress() {
        gpio.setInput(0, true);
        gpio.setInput(3, true);
        gpio.setInput(7, true);
        assertEquals(0x89, readb(data(0xFF)));
        assertEquals(0x89, readb(0x3FC));
        assertEquals(0x08, readb(data(0x08))); // Linux's pl061_get_value(3): readb(base + BIT(3 + 2))
        assertEquals(0x00, readb(data(0x04)));
        assertEquals(0x09, readb(data(0x0F)));
        assertEquals(0x00, readb(0x000));
        // The upper bytes of a register slot are reserved.
        assertEquals(0x89, readl(0x3FC));
        assertEquals(0, readb(0x3FD));
    }

    @Test
    void dataWritesDriveOnlyMaskedOutputs() {
        writeb(Pl061.GPIODIR, 0x0F);
        assertEquals(0x0F, readb(Pl061.GPIODIR));
        writeb(data(0x05), 0xFF); // lines 0 and 2
        assertEquals(0x05, readb(data(0xFF)));
        writeb(data(0x30), 0xFF); // lines 4 and 5 are inputs: ignored
        assertEquals(0x05, readb(data(0xFF)));
        writeb(data(0x01), 0x00);
        assertEquals(0x04, readb(data(0xFF)));
        // Linux's pl061_set_value(1, 1): writeb(1 << 1, base + BIT(1 + 2)).
        writeb(data(0x02), 0x02);
        assertEquals(0x06, readb(data(0xFF)));
        // An input pin shows its outside level, an output pin its latch.
        gpio.setInput(5, true);
        gpio.setInput(1, false);
        assertEquals(0x26, readb(data(0xFF)));
        // A byte write into a reserved byte changes nothing.
        gpio.write(data(0xFF) + 1, new byte[] {(byte) 0xFF});
        assertEquals(0x26, readb(data(0xFF)));
    }

    @Test
    void risingEdge() {
        writeb(Pl061.GPIOIEV, BUTTON); // IS 0 (edge), IBE 0, IEV 1: rising
        gpio.setInput(3, true);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        writeb(Pl061.GPIOIC, BUTTON);
        assertEquals(0, readb(Pl061.GPIORIS));
        gpio.setInput(3, false);
        assertEquals(0, readb(Pl061.GPIORIS));
    }

    @Test
    void fallingEdge() {
        gpio.setInput(3, true); // IEV 0: falling
        assertEquals(0, readb(Pl061.GPIORIS));
        gpio.setInput(3, false);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        // The latch holds after the line settles, until GPIOIC.
        gpio.setInput(3, false);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        writeb(Pl061.GPIOIC, BUTTON);
        assertEquals(0, readb(Pl061.GPIORIS));
    }

    @Test
    void bothEdges() {
        writeb(Pl061.GPIOIBE, BUTTON); // IEV ignored
        gpio.setInput(3, true);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        writeb(Pl061.GPIOIC, BUTTON);
        gpio.setInput(3, false);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        writeb(Pl061.GPIOIC, BUTTON);
        assertEquals(0, readb(Pl061.GPIORIS));
    }

    @Test
    void gpioIcClearsOnlyTheBitsWritten() {
        writeb(Pl061.GPIOIBE, 0xFF);
        gpio.setInput(0, true);
        gpio.setInput(3, true);
        assertEquals(0x09, readb(Pl061.GPIORIS));
        writeb(Pl061.GPIOIC, 0x01);
        assertEquals(0x08, readb(Pl061.GPIORIS));
        assertEquals(0, readb(Pl061.GPIOIC)); // write-only
    }

    @Test
    void levelFollowsThePinAndIgnoresGpioIc() {
        writeb(Pl061.GPIOIS, BUTTON);
        writeb(Pl061.GPIOIEV, BUTTON); // level high
        writeb(Pl061.GPIOIE, BUTTON);
        assertEquals(0, readb(Pl061.GPIORIS));
        gpio.setInput(3, true);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        assertTrue(gpio.interruptLine());
        writeb(Pl061.GPIOIC, BUTTON);
        assertEquals(BUTTON, readb(Pl061.GPIOMIS));
        assertTrue(gpio.interruptLine());
        gpio.setInput(3, false);
        assertEquals(0, readb(Pl061.GPIORIS));
        assertFalse(gpio.interruptLine());
        // Level low: pending while the pin is low.
        writeb(Pl061.GPIOIEV, 0);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        assertTrue(gpio.interruptLine());
        assertEquals(List.of(true, false, true), line.levels());
    }

    @Test
    void interruptEnableGatesTheLine() {
        writeb(Pl061.GPIOIBE, BUTTON);
        gpio.setInput(3, true);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        assertEquals(0, readb(Pl061.GPIOMIS));
        assertFalse(gpio.interruptLine());
        assertEquals(List.of(), line.levels());

        writeb(Pl061.GPIOIE, BUTTON);
        assertEquals(BUTTON, readb(Pl061.GPIOMIS));
        assertTrue(gpio.interruptLine());
        writeb(Pl061.GPIOIE, 0);
        assertFalse(gpio.interruptLine());
        writeb(Pl061.GPIOIE, BUTTON);
        writeb(Pl061.GPIOIC, BUTTON);
        assertFalse(gpio.interruptLine());
        gpio.setInput(3, false); // the falling edge
        assertTrue(gpio.interruptLine());
        // Another line's enable does not pass this line's status.
        writeb(Pl061.GPIOIE, 0x01);
        assertFalse(gpio.interruptLine());
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
        assertEquals(List.of(true, false, true, false, true, false), line.levels());
        // RIS and MIS ignore writes.
        writeb(Pl061.GPIORIS, 0xFF);
        writeb(Pl061.GPIOMIS, 0xFF);
        assertEquals(BUTTON, readb(Pl061.GPIORIS));
    }

    @Test
    void registersHoldEightBits() {
        writel(Pl061.GPIODIR, 0xFFFF_FF5A);
        writel(Pl061.GPIOAFSEL, 0x1A5);
        assertEquals(0x5A, readl(Pl061.GPIODIR));
        assertEquals(0xA5, readl(Pl061.GPIOAFSEL));
        // Out of the window: nothing.
        gpio.write(0x1000, new byte[] {1});
        byte[] b = {7};
        gpio.read(0x1000, b);
        assertEquals(0, b[0]);
        assertThrows(IllegalArgumentException.class, () -> gpio.setInput(8, true));
    }

    /** Linux's gpio_keys on pl061 line 3: both edges, enabled. */
    private void configureAsLinuxDoes() {
        writeb(Pl061.GPIOIE, 0);
        writeb(Pl061.GPIOIS, 0);
        writeb(Pl061.GPIOIBE, BUTTON);
        writeb(Pl061.GPIOIE, BUTTON);
    }

    /** Polls until the button's pin reads low; returns when that was seen. */
    private static long awaitRelease(Pl061 device) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        byte[] b = new byte[1];
        while (System.nanoTime() < deadline) {
            device.read(data(BUTTON), b);
            if (b[0] == 0) {
                return System.nanoTime();
            }
            Thread.sleep(2);
        }
        throw new AssertionError("the button was never released");
    }

    @Test
    void pressHoldsTheLineForAHundredMilliseconds() throws Exception {
        assertEquals(Duration.ofMillis(100), Pl061.PRESS_TIME);
        long pressed = System.nanoTime();
        gpio.press();
        assertEquals(BUTTON, readb(data(BUTTON)));
        long held = awaitRelease(gpio) - pressed;
        assertTrue(held >= TimeUnit.MILLISECONDS.toNanos(100), "released after " + held / 1_000 + " us");
    }

    @Test
    void pressAndReleaseAreTwoInterruptsAsGpioKeysSeesThem() throws Exception {
        // A long press, so that the guest's acknowledgement surely comes before the release.
        Pl061 button = new Pl061(IRQ, line, Duration.ofMillis(500));
        button.write(Pl061.GPIOIBE, new byte[] {(byte) BUTTON});
        button.write(Pl061.GPIOIE, new byte[] {(byte) BUTTON});
        button.press();
        assertNotNull(line.rises.poll(0, TimeUnit.SECONDS), "the press raises the interrupt at once");
        byte[] b = new byte[1];
        button.read(Pl061.GPIOMIS, b);
        assertEquals(BUTTON, b[0]);
        button.read(data(BUTTON), b);
        assertEquals(BUTTON, b[0]);
        button.write(Pl061.GPIOIC, new byte[] {(byte) BUTTON}); // handle_edge_irq's ack
        button.read(Pl061.GPIOMIS, b);
        assertEquals(0, b[0]);

        assertNotNull(line.rises.poll(5, TimeUnit.SECONDS), "the release raises it again");
        button.read(data(BUTTON), b);
        assertEquals(0, b[0]);
        button.read(Pl061.GPIOMIS, b);
        assertEquals(BUTTON, b[0]);
        assertEquals(List.of(true, false, true), line.levels());
    }

    @Test
    void aSecondPressKeepsTheButtonDown() throws Exception {
        Pl061 slow = new Pl061(IRQ, line, Duration.ofMillis(1000));
        slow.write(Pl061.GPIOIBE, new byte[] {(byte) BUTTON});
        slow.write(Pl061.GPIOIE, new byte[] {(byte) BUTTON});
        slow.press();
        Thread.sleep(500);
        long second = System.nanoTime();
        slow.press(); // no new edge while down; the release moves to 1 s from now
        Thread.sleep(700);
        byte[] b = new byte[1];
        slow.read(data(BUTTON), b);
        assertEquals(BUTTON, b[0], "released by the first press's timer");
        assertEquals(1, line.rises.size());
        long held = awaitRelease(slow) - second;
        assertTrue(held >= TimeUnit.MILLISECONDS.toNanos(1000), "released " + held / 1_000 + " us after the second");
    }

    @Test
    void resetRestoresPowerOnStateAndForgetsThePress() throws Exception {
        configureAsLinuxDoes();
        writeb(Pl061.GPIODIR, 0x01);
        writeb(data(0x01), 0x01);
        writeb(Pl061.GPIOAFSEL, 0x80);
        gpio.press();
        assertTrue(gpio.interruptLine());
        gpio.reset();
        assertFalse(gpio.interruptLine());
        for (int r = 0x000; r <= 0x420; r += 4) {
            assertEquals(0, readl(r), "register 0x" + Integer.toHexString(r));
        }
        // Enable the line's edges again: the press's pending release must not make one.
        writeb(Pl061.GPIOIBE, BUTTON);
        writeb(Pl061.GPIOIE, BUTTON);
        line.rises.clear();
        assertNull(line.rises.poll(Pl061.PRESS_TIME.toMillis() * 3, TimeUnit.MILLISECONDS));
        assertEquals(0, readb(Pl061.GPIORIS));
        assertEquals(List.of(true, false), line.levels());
    }
}
