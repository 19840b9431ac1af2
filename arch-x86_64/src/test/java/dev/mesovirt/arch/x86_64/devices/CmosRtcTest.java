package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class CmosRtcTest {
    /** A clock the test moves by hand. */
    private static final class ManualClock extends Clock {
        Instant now;

        ManualClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private static int rd(CmosRtc rtc, int register) {
        rtc.write(0, new byte[] {(byte) register});
        byte[] b = new byte[1];
        rtc.read(1, b);
        return b[0] & 0xFF;
    }

    private static void wr(CmosRtc rtc, int register, int value) {
        rtc.write(0, new byte[] {(byte) register});
        rtc.write(1, new byte[] {(byte) value});
    }

    // Thursday, leap day, one second before midnight.
    private final ManualClock clock = new ManualClock(Instant.parse("2024-02-29T23:59:58Z"));
    private final CmosRtc rtc = new CmosRtc(clock);

    @Test
    void bcdTwentyFourHourByDefault() {
        assertEquals(0x02, rd(rtc, 0x0B));
        assertEquals(0x58, rd(rtc, 0x00));
        assertEquals(0x59, rd(rtc, 0x02));
        assertEquals(0x23, rd(rtc, 0x04));
        assertEquals(0x05, rd(rtc, 0x06), "Thursday, with Sunday = 1");
        assertEquals(0x29, rd(rtc, 0x07));
        assertEquals(0x02, rd(rtc, 0x08));
        assertEquals(0x24, rd(rtc, 0x09));
        assertEquals(0x20, rd(rtc, 0x32));
    }

    @Test
    void binaryMode() {
        wr(rtc, 0x0B, 0x06);
        assertEquals(58, rd(rtc, 0x00));
        assertEquals(59, rd(rtc, 0x02));
        assertEquals(23, rd(rtc, 0x04));
        assertEquals(5, rd(rtc, 0x06));
        assertEquals(29, rd(rtc, 0x07));
        assertEquals(2, rd(rtc, 0x08));
        assertEquals(24, rd(rtc, 0x09));
        assertEquals(20, rd(rtc, 0x32));
    }

    @Test
    void twelveHourMode() {
        wr(rtc, 0x0B, 0x00);
        assertEquals(0x91, rd(rtc, 0x04), "11 PM in BCD");
        wr(rtc, 0x0B, 0x04);
        assertEquals(0x8B, rd(rtc, 0x04), "11 PM in binary");
        wr(rtc, 0x0B, 0x00);
        clock.now = Instant.parse("2024-03-01T00:30:00Z");
        assertEquals(0x12, rd(rtc, 0x04), "12 AM");
        clock.now = Instant.parse("2024-03-01T12:30:00Z");
        assertEquals(0x00, rd(rtc, 0x00)); // resample
        assertEquals(0x92, rd(rtc, 0x04), "12 PM");
    }

    @Test
    void aMultiRegisterReadIsConsistentAcrossASecondBoundary() {
        clock.now = Instant.parse("2024-02-29T23:59:59.990Z");
        assertEquals(0x59, rd(rtc, 0x00));
        clock.now = Instant.parse("2024-03-01T00:00:00.010Z");
        assertEquals(0x59, rd(rtc, 0x02), "same sample as the seconds read");
        assertEquals(0x23, rd(rtc, 0x04));
        assertEquals(0x29, rd(rtc, 0x07));
        assertEquals(0x00, rd(rtc, 0x00), "a seconds read resamples");
        assertEquals(0x00, rd(rtc, 0x02));
        assertEquals(0x03, rd(rtc, 0x08));
        clock.now = clock.now.plusMillis(CmosRtc.SAMPLE_MILLIS + 1000);
        assertEquals(0x00, rd(rtc, 0x02));
        clock.now = clock.now.plus(Duration.ofMinutes(1));
        assertEquals(0x01, rd(rtc, 0x02), "a stale sample is refreshed");
    }

    @Test
    void matchesTheHostClock() {
        CmosRtc host = new CmosRtc();
        for (boolean binary : new boolean[] {false, true}) {
            wr(host, 0x0B, binary ? 0x06 : 0x02);
            LocalDateTime before = LocalDateTime.now(ZoneOffset.UTC).withNano(0);
            int sec = decode(rd(host, 0x00), binary);
            int min = decode(rd(host, 0x02), binary);
            int hour = decode(rd(host, 0x04), binary);
            int day = decode(rd(host, 0x07), binary);
            int month = decode(rd(host, 0x08), binary);
            int year = decode(rd(host, 0x32), binary) * 100 + decode(rd(host, 0x09), binary);
            LocalDateTime after = LocalDateTime.now(ZoneOffset.UTC);
            LocalDateTime read = LocalDateTime.of(year, month, day, hour, min, sec);
            assertTrue(!read.isBefore(before) && !read.isAfter(after.plusSeconds(1)),
                    read + " not within [" + before + ", " + after + "] (binary=" + binary + ")");
        }
    }

    private static int decode(int value, boolean binary) {
        return binary ? value : (value >> 4) * 10 + (value & 0x0F);
    }

    @Test
    void statusRegisters() {
        assertEquals(0x26, rd(rtc, 0x0A));
        wr(rtc, 0x0A, 0xA6);
        assertEquals(0x26, rd(rtc, 0x0A), "UIP is never set");
        assertEquals(0x00, rd(rtc, 0x0C));
        assertEquals(0x80, rd(rtc, 0x0D));
        wr(rtc, 0x0D, 0x00);
        assertEquals(0x80, rd(rtc, 0x0D), "read-only");
    }

    @Test
    void cmosRamIsWriteThroughAndIgnoresTheNmiBit() {
        wr(rtc, 0x40, 0x5A);
        assertEquals(0x5A, rd(rtc, 0x40));
        assertEquals(0x5A, rd(rtc, 0xC0), "bit 7 of the index is the NMI mask");
        rtc.write(0, new byte[] {0x7F, 0x33}); // a 16-bit OUT: index then data
        assertEquals(0x33, rd(rtc, 0x7F));
        byte[] b = new byte[1];
        rtc.read(0, b);
        assertEquals((byte) 0xFF, b[0], "the index port is write-only");
    }

    @Test
    void timeWritesDoNotMoveTheClock() {
        wr(rtc, 0x00, 0x11);
        assertEquals(0x58, rd(rtc, 0x00));
    }

    @Test
    void ramSizesWhereOvmfReadsThemWithoutFwCfg() {
        // 2 GiB below 4 GiB and 2 GiB above, as q35 lays out -m 4G.
        CmosRtc c = new CmosRtc(2L << 30, 2L << 30);
        int above16m = rd(c, 0x34) | rd(c, 0x35) << 8;
        assertEquals(((2L << 30) - (16L << 20)) >> 16, above16m);
        assertEquals((2L << 30) >> 16, rd(c, 0x5B) | rd(c, 0x5C) << 8 | rd(c, 0x5D) << 16);
        assertEquals(0xFFFF, rd(c, 0x30) | rd(c, 0x31) << 8, "KiB above 1 MiB, capped");
        assertEquals(640, rd(c, 0x15) | rd(c, 0x16) << 8);
        CmosRtc small = new CmosRtc(256L << 20, 0);
        assertEquals((240L << 20) >> 16, rd(small, 0x34) | rd(small, 0x35) << 8);
        assertEquals(0, rd(small, 0x5B));
    }
}
