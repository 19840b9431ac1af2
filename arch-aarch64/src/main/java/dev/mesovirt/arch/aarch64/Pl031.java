package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ARM PrimeCell PL031 real-time clock (ARM DDI 0224), the RTC of QEMU's {@code virt} board, which Linux's
 * rtc-pl031 driver finds through the AMBA bus (its PrimeCell ID) and registers as {@code /dev/rtc0}.
 *
 * <p>The counter is the host's clock in seconds since the epoch plus an offset: RTCLR sets the offset so that the
 * counter reads the loaded value now, and it then keeps counting with the host's clock (the guest's setting
 * survives nothing but this device). RTCMR is the alarm: when the counter reaches it, RTCRIS bit 0 is set; the
 * interrupt line is RTCMIS (RTCRIS masked by RTCIMSC), level-triggered, cleared by writing 1 to RTCICR. A timer
 * thread looks at the counter when it should reach RTCMR.
 *
 * <p>RTCCR's start bit reads 1 from power-on (the clock is the host's and always runs); the PL031 ignores writes of
 * 0 to it once started, so this one does too. Registers are 32-bit words; a narrower read returns the bytes of the
 * word it falls in, a write that is not a whole aligned word is ignored (Linux uses readl/writel only).
 *
 * <p>Thread safety: vCPU threads and the alarm timer call in concurrently; state is guarded by the instance
 * monitor and the line is set under it, so it always ends at the last computed level.
 */
public final class Pl031 implements BusDevice {
    private static final Logger LOG = LoggerFactory.getLogger(Pl031.class);

    /** The register window: 4 KiB, with the PrimeCell ID registers in its last 32 bytes. */
    public static final long SIZE = 0x1000;

    static final int RTCDR = 0x00;
    static final int RTCMR = 0x04;
    static final int RTCLR = 0x08;
    static final int RTCCR = 0x0C;
    static final int RTCIMSC = 0x10;
    static final int RTCRIS = 0x14;
    static final int RTCMIS = 0x18;
    static final int RTCICR = 0x1C;
    /** RTCPeriphID0..3 then RTCPCellID0..3, one byte per word from 0xFE0. */
    static final int ID_BASE = 0xFE0;
    /**
     * Part 0x031, designer 0x41 (ARM), revision 1, configuration 0: the ID rtc-pl031 matches (0x00041031 under mask
     * 0x000fffff); then the PrimeCell preamble 0xB105F00D.
     */
    static final int[] ID = {0x31, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

    private final Irq irq;
    private final IrqLine line;
    private final InstantSource clock;

    // Guarded by this.
    private long offset; // counter = (host seconds + offset) mod 2^32
    private int match;
    private int imsc;
    private int ris;
    private boolean lineHigh;
    private long alarmGeneration; // only the latest scheduled check acts
    private ScheduledFuture<?> pendingAlarm; // cancelled when RTCMR or RTCLR changes

    /**
     * @param irq the SPI the RTC's interrupt (RTCINTR) is wired to
     * @param line drives that SPI (KVM_IRQ_LINE on the vGIC)
     */
    public Pl031(Irq irq, IrqLine line) {
        this(irq, line, InstantSource.system());
    }

    Pl031(Irq irq, IrqLine line, InstantSource clock) {
        this.irq = Objects.requireNonNull(irq, "irq");
        this.line = Objects.requireNonNull(line, "line");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public Irq irq() {
        return irq;
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        long word = offset & ~3L;
        int value = word >= 0 && word < SIZE ? register((int) word) : 0;
        for (int i = 0; i < data.length; i++) {
            long a = offset + i;
            data[i] = (a & ~3L) == word ? (byte) (value >>> (8 * (a & 3))) : 0;
        }
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        if (data.length != 4 || (offset & 3) != 0 || offset < 0 || offset >= SIZE) {
            return;
        }
        int value = (data[0] & 0xff) | (data[1] & 0xff) << 8 | (data[2] & 0xff) << 16 | (data[3] & 0xff) << 24;
        switch ((int) offset) {
            case RTCMR -> {
                match = value;
                scheduleAlarm();
            }
            case RTCLR -> {
                this.offset = Integer.toUnsignedLong(value) - clock.instant().getEpochSecond();
                scheduleAlarm();
            }
            case RTCIMSC -> imsc = value & 1;
            case RTCICR -> ris &= ~(value & 1);
            default -> {
                // RTCDR, RTCRIS, RTCMIS and the IDs are read-only; RTCCR's start bit stays set.
            }
        }
        updateLine();
    }

    /** What RTCDR reads now: the host's seconds plus the guest's offset, modulo 2^32. */
    synchronized int counter() {
        return (int) (clock.instant().getEpochSecond() + offset);
    }

    /** Whether RTCINTR is high, i.e. what the SPI was last set to. */
    synchronized boolean interruptLine() {
        return lineHigh;
    }

    /**
     * Sets the alarm's raw status if the counter has reached RTCMR (at most a few seconds ago: the timer may run
     * late), else asks again when it should; returns whether it did. The alarm timer calls this.
     */
    synchronized boolean checkAlarm() {
        int late = counter() - match;
        if (late >= 0 && late < 4) {
            ris |= 1;
            updateLine();
            return true;
        }
        return false;
    }

    private int register(int offset) {
        if (offset >= ID_BASE) {
            return ID[(offset - ID_BASE) >> 2];
        }
        return switch (offset) {
            case RTCDR -> counter();
            case RTCMR -> match;
            case RTCLR -> counter(); // reads back the running value it was loaded with, as QEMU's model does
            case RTCCR -> 1;
            case RTCIMSC -> imsc;
            case RTCRIS -> ris;
            case RTCMIS -> ris & imsc;
            default -> 0;
        };
    }

    private void updateLine() {
        boolean high = (ris & imsc) != 0;
        if (high != lineHigh) {
            line.set(high);
            lineHigh = high;
        }
    }

    /** A check when the counter next equals RTCMR: the seconds to go, less the fraction of this one gone by. */
    private void scheduleAlarm() {
        long generation = ++alarmGeneration;
        Instant now = clock.instant();
        long seconds = Integer.toUnsignedLong(match - counter());
        long delayNanos = seconds * 1_000_000_000L - now.getNano();
        if (delayNanos < 0) {
            delayNanos = 0;
        }
        if (pendingAlarm != null) {
            pendingAlarm.cancel(false);
        }
        pendingAlarm = AlarmTimer.EXECUTOR.schedule(() -> alarm(generation), delayNanos, TimeUnit.NANOSECONDS);
    }

    private void alarm(long generation) {
        try {
            synchronized (this) {
                if (generation != alarmGeneration) {
                    return;
                }
                if (!checkAlarm()) {
                    // Early (a clock that moved back, or rounding): look again when the counter reaches RTCMR.
                    scheduleAlarm();
                }
            }
        } catch (RuntimeException e) {
            // The machine may be going away (its VM closed); an alarm that cannot reach the vGIC is moot then.
            LOG.warn("PL031: raising the alarm failed: {}", e.toString());
        }
    }

    /** One daemon thread for every PL031's alarms, gone when idle. */
    private static final class AlarmTimer {
        static final ScheduledThreadPoolExecutor EXECUTOR = IdleScheduler.create("pl031-alarm");
    }
}
