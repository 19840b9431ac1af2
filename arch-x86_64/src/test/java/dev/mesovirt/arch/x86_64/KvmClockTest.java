package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The guest's pvclock arithmetic (pvclock_scale_delta), against the same computed with BigInteger. */
class KvmClockTest {
    @Test
    void scalesTheTscDeltaLikeTheGuest() {
        // A 2 GHz TSC: mul = 2^31 with shift 0 halves the ticks into nanoseconds.
        assertEquals(1_000 + 500, KvmClock.pvclockNanos(10_000, 1_000, 1 << 31, 0, 11_000));
        // shift -1 then mul 2^32-1 ~ x0.5; shift +1 doubles first.
        assertEquals(7 + 1_999, KvmClock.pvclockNanos(0, 7, -1, 1, 1_000));
        // A TSC behind the timestamp (read on another CPU) counts as no time.
        assertEquals(42, KvmClock.pvclockNanos(5_000, 42, 1 << 31, 0, 4_000));
    }

    @Test
    void matchesAWideMultiplication() {
        Random r = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            long ts = r.nextLong() >>> 1;
            long tsc = ts + (r.nextLong() >>> (4 + r.nextInt(40)));
            int mul = r.nextInt();
            int shift = r.nextInt(9) - 4;
            long system = r.nextLong() >>> 2;
            BigInteger delta = BigInteger.valueOf(tsc - ts);
            delta = shift < 0 ? delta.shiftRight(-shift) : delta.shiftLeft(shift).and(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE));
            long expected = system + delta.multiply(BigInteger.valueOf(Integer.toUnsignedLong(mul))).shiftRight(32).longValue();
            assertEquals(expected, KvmClock.pvclockNanos(ts, system, mul, shift, tsc));
        }
    }
}
