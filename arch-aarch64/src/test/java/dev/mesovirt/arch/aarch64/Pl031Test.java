package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.device.IrqLine;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class Pl031Test {
    private static final Irq IRQ = Gicv3.spi(Gicv3.RTC_SPI, true);
    private static final long T0 = 1_765_000_000L; // December 2025

    /** Every level the device drives, in order. */
    private static final class Line implements IrqLine {
        final List<Boolean> levels = new ArrayList<>();
        final LinkedBlockingQueue<Boolean> changes = new LinkedBlockingQueue<>();

        @Override
        public synchronized void set(boolean level) {
            levels.add(level);
            changes.add(level);
        }

        synchronized List<Boolean> levels() {
            return List.copyOf(levels);
        }
    }

    /** A host clock the test moves. */
    private static final class Clock implements InstantSource {
        volatile Instant now = Instant.ofEpochSecond(T0, 250_000_000);

        @Override
        public Instant instant() {
            return now;
        }

        void advance(long seconds) {
            now = now.plusSeconds(seconds);
        }
    }

    private final Line line = new Line();
    private final Clock clock = new Clock();
    private final Pl031 rtc = new Pl031(IRQ, line, clock);

    private int readl(int offset) {
        byte[] b = new byte[4];
        rtc.read(offset, b);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }

    private void writel(int offset, int value) {
        rtc.write(offset, new byte[] {(byte) value, (byte) (value >> 8), (byte) (value >> 16), (byte) (value >> 24)});
    }

    @Test
    void primeCellIdIsWhatRtcPl031Matches() {
        int[] id = new int[8];
        for (int i = 0; i < 8; i++) {
            id[i] = readl(Pl031.ID_BASE + 4 * i);
        }
        int periph = id[0] | id[1] << 8 | id[2] << 16 | id[3] << 24;
        int cell = id[4] | id[5] << 8 | id[6] << 16 | id[7] << 24;
        assertEquals(0x00041031, periph & 0x000f_ffff, "rtc-pl031's amba_id");
        assertEquals(0x31, periph & 0xfff, "part number");
        assertEquals(0x41, (periph >>> 12) & 0xff, "designer: ARM");
        assertEquals(0xB105F00D, cell, "PrimeCell preamble");
        // The ID registers are read-only.
        writel(Pl031.ID_BASE, 0x55);
        assertEquals(0x31, readl(Pl031.ID_BASE));
    }

    @Test
    void dataRegisterIsTheHostClock() {
        assertEquals((int) T0, readl(Pl031.RTCDR));
        clock.advance(5);
        assertEquals((int) T0 + 5, readl(Pl031.RTCDR));
        // Read-only.
        writel(Pl031.RTCDR, 7);
        assertEquals((int) T0 + 5, readl(Pl031.RTCDR));
        // A narrower read takes the bytes of its word.
        byte[] b = new byte[1];
        rtc.read(Pl031.RTCDR + 1, b);
        assertEquals((byte) ((T0 + 5) >> 8), b[0]);
    }

    @Test
    void loadSetsTheCounterWhichKeepsCounting() {
        writel(Pl031.RTCLR, 1000);
        assertEquals(1000, readl(Pl031.RTCDR));
        clock.advance(3);
        assertEquals(1003, readl(Pl031.RTCDR));
        // Unsigned 32-bit: a value above 2^31 loads and wraps to 0 past 2^32 - 1.
        writel(Pl031.RTCLR, 0xFFFF_FFFF);
        assertEquals(0xFFFF_FFFF, readl(Pl031.RTCDR));
        clock.advance(1);
        assertEquals(0, readl(Pl031.RTCDR));
        // Not an aligned word: ignored.
        rtc.write(Pl031.RTCLR, new byte[] {1, 2});
        assertEquals(0, readl(Pl031.RTCDR));
    }

    @Test
    void controlReadsStartedAndStaysStarted() {
        assertEquals(1, readl(Pl031.RTCCR));
        writel(Pl031.RTCCR, 0);
        assertEquals(1, readl(Pl031.RTCCR));
        clock.advance(1);
        assertEquals((int) T0 + 1, readl(Pl031.RTCDR));
    }

    @Test
    void matchRaisesTheInterruptOnlyWhenUnmasked() {
        writel(Pl031.RTCMR, (int) T0 + 2);
        assertEquals((int) T0 + 2, readl(Pl031.RTCMR));
        assertFalse(rtc.checkAlarm(), "not yet");
        assertEquals(0, readl(Pl031.RTCRIS));
        clock.advance(2);
        assertTrue(rtc.checkAlarm());
        assertEquals(1, readl(Pl031.RTCRIS));
        assertEquals(0, readl(Pl031.RTCMIS), "masked");
        assertFalse(rtc.interruptLine());

        writel(Pl031.RTCIMSC, 1);
        assertEquals(1, readl(Pl031.RTCIMSC));
        assertEquals(1, readl(Pl031.RTCMIS));
        assertTrue(rtc.interruptLine());
        // Masking again lowers the line, the raw status stays.
        writel(Pl031.RTCIMSC, 0);
        assertFalse(rtc.interruptLine());
        assertEquals(1, readl(Pl031.RTCRIS));
        writel(Pl031.RTCIMSC, 1);
        // RTCICR clears it; it is write-only and reads as 0; RTCRIS and RTCMIS are read-only.
        writel(Pl031.RTCRIS, 0);
        writel(Pl031.RTCMIS, 0);
        assertEquals(1, readl(Pl031.RTCMIS));
        writel(Pl031.RTCICR, 1);
        assertEquals(0, readl(Pl031.RTCICR));
        assertEquals(0, readl(Pl031.RTCRIS));
        assertEquals(0, readl(Pl031.RTCMIS));
        assertFalse(rtc.interruptLine());
        assertEquals(List.of(true, false, true, false), line.levels());
    }

    @Test
    void aMatchLongPassedDoesNotFire() {
        writel(Pl031.RTCMR, (int) T0 - 100);
        assertFalse(rtc.checkAlarm());
        assertEquals(0, readl(Pl031.RTCRIS));
    }

    /** The alarm timer, with the real host clock: a match one second ahead raises the line about a second later. */
    @Test
    void theTimerRaisesTheAlarm() throws Exception {
        Line l = new Line();
        Pl031 real = new Pl031(IRQ, l);
        byte[] b = new byte[4];
        real.read(Pl031.RTCDR, b);
        int now = (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
        real.write(Pl031.RTCIMSC, new byte[] {1, 0, 0, 0});
        int m = now + 1;
        long t = System.nanoTime();
        real.write(Pl031.RTCMR, new byte[] {(byte) m, (byte) (m >> 8), (byte) (m >> 16), (byte) (m >> 24)});
        Boolean level = l.changes.poll(5, TimeUnit.SECONDS);
        assertEquals(Boolean.TRUE, level, "no alarm within 5 s");
        assertTrue(System.nanoTime() - t < 2_100_000_000L);
        assertTrue(real.interruptLine());
    }
}
