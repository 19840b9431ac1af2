package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.bus.BusDevice;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Objects;

/**
 * The MC146818 real-time clock and CMOS RAM behind ports 0x70 (index) and 0x71 (data), enough for a guest to read
 * the wall-clock time at boot. The time registers always show the host's current UTC time (guest writes to them are
 * kept in RAM but do not move the clock); register B's DM bit selects binary or BCD and its 24/12 bit the hour
 * format. There are no interrupts: guests keep time with other clocks.
 *
 * <p>UIP is never reported, so a guest never waits on it. To keep a multi-register read consistent without it, the
 * time is sampled when the seconds register is read (Linux reads it first) and reused for the other registers for
 * {@value #SAMPLE_MILLIS} ms; a reader that never reads seconds sees time at most that stale.
 *
 * <p>Bus placement: port {@link #PORT}, length {@link #LENGTH}. Wider accesses are taken as consecutive byte
 * accesses (a 16-bit OUT to 0x70 sets the index and writes the data).
 */
public final class CmosRtc implements BusDevice {
    public static final int PORT = 0x70;
    public static final int LENGTH = 2;

    static final int SECONDS = 0x00;
    static final int MINUTES = 0x02;
    static final int HOURS = 0x04;
    static final int DAY_OF_WEEK = 0x06;
    static final int DAY_OF_MONTH = 0x07;
    static final int MONTH = 0x08;
    static final int YEAR = 0x09;
    static final int REG_A = 0x0A;
    static final int REG_B = 0x0B;
    static final int REG_C = 0x0C;
    static final int REG_D = 0x0D;
    static final int CENTURY = 0x32;

    static final int B_24_HOUR = 0x02;
    static final int B_BINARY = 0x04;
    private static final int A_UIP = 0x80;
    private static final int A_DEFAULT = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    private static final int B_DEFAULT = B_24_HOUR; // BCD, 24-hour, no interrupts
    private static final int D_VALID = 0x80; // battery good: RAM and time valid
    private static final int HOUR_PM = 0x80;
    private static final int RAM_SIZE = 128;
    static final long SAMPLE_MILLIS = 100;

    private final Clock clock;
    private final byte[] ram = new byte[RAM_SIZE];
    private int index;
    private LocalDateTime sample;
    private long sampledAtMillis;

    /** An RTC showing the host's UTC time. */
    public CmosRtc() {
        this(Clock.systemUTC());
    }

    /**
     * An RTC whose CMOS RAM also holds the RAM sizes a PC BIOS leaves there (the registers QEMU fills), which
     * firmware reads when it has no other memory map: {@code lowRam} bytes from 0 below 4 GiB, {@code highRam}
     * above 4 GiB.
     */
    public CmosRtc(long lowRam, long highRam) {
        this(Clock.systemUTC());
        long extendedKib = Math.min(Math.max(lowRam - (1L << 20), 0) >> 10, 0xFFFF); // above 1 MiB, KiB
        ram[BASE_MEMORY_KIB] = (byte) 640;
        ram[BASE_MEMORY_KIB + 1] = (byte) (640 >> 8);
        for (int at : new int[] {EXTENDED_MEMORY_KIB, EXTENDED_MEMORY_KIB_2}) {
            ram[at] = (byte) extendedKib;
            ram[at + 1] = (byte) (extendedKib >> 8);
        }
        long above16m = Math.min(Math.max(lowRam - (16L << 20), 0) >> 16, 0xFFFF); // 64 KiB units
        ram[MEMORY_ABOVE_16M] = (byte) above16m;
        ram[MEMORY_ABOVE_16M + 1] = (byte) (above16m >> 8);
        long above4g = Math.min(highRam >> 16, 0xFF_FFFF);
        ram[MEMORY_ABOVE_4G] = (byte) above4g;
        ram[MEMORY_ABOVE_4G + 1] = (byte) (above4g >> 8);
        ram[MEMORY_ABOVE_4G + 2] = (byte) (above4g >> 16);
    }

    /** CMOS RAM size registers (QEMU's pc.c): KiB of base memory, KiB above 1 MiB (twice), 64 KiB units above 16 MiB and 4 GiB. */
    static final int BASE_MEMORY_KIB = 0x15;
    static final int EXTENDED_MEMORY_KIB = 0x17;
    static final int EXTENDED_MEMORY_KIB_2 = 0x30;
    static final int MEMORY_ABOVE_16M = 0x34;
    static final int MEMORY_ABOVE_4G = 0x5B;

    /** An RTC showing {@code clock}'s time in UTC (tests pass a fixed clock). */
    public CmosRtc(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        ram[REG_A] = (byte) A_DEFAULT;
        ram[REG_B] = (byte) B_DEFAULT;
    }

    @Override
    public void read(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) readPort(offset + i);
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            writePort(offset + i, data[i] & 0xFF);
        }
    }

    private synchronized int readPort(long port) {
        if (port != 1) {
            return 0xFF; // the index register is write-only
        }
        return readRegister(index);
    }

    private synchronized void writePort(long port, int value) {
        if (port == 0) {
            index = value & 0x7F; // bit 7 is the NMI mask, which a VM has no use for
        } else if (port == 1) {
            writeRegister(index, value);
        }
    }

    private int readRegister(int register) {
        return switch (register) {
            case SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR, CENTURY -> timeRegister(register);
            case REG_A -> ram[REG_A] & 0xFF & ~A_UIP;
            case REG_C -> 0; // no interrupt flags, ever
            case REG_D -> D_VALID;
            default -> ram[register] & 0xFF;
        };
    }

    private void writeRegister(int register, int value) {
        switch (register) {
            case REG_A -> ram[REG_A] = (byte) (value & ~A_UIP); // UIP is read-only
            case REG_C, REG_D -> {} // read-only
            default -> ram[register] = (byte) value;
        }
    }

    private int timeRegister(int register) {
        LocalDateTime now = now(register == SECONDS);
        int b = ram[REG_B] & 0xFF;
        return switch (register) {
            case SECONDS -> encode(now.getSecond(), b);
            case MINUTES -> encode(now.getMinute(), b);
            case HOURS -> hours(now.getHour(), b);
            case DAY_OF_WEEK -> encode(now.getDayOfWeek().getValue() % 7 + 1, b); // Sunday = 1
            case DAY_OF_MONTH -> encode(now.getDayOfMonth(), b);
            case MONTH -> encode(now.getMonthValue(), b);
            case YEAR -> encode(Math.floorMod(now.getYear(), 100), b);
            case CENTURY -> encode(Math.floorMod(now.getYear() / 100, 100), b);
            default -> 0;
        };
    }

    private LocalDateTime now(boolean resample) {
        Instant instant = clock.instant();
        long millis = instant.toEpochMilli();
        if (resample || sample == null || millis - sampledAtMillis >= SAMPLE_MILLIS || millis < sampledAtMillis) {
            sample = LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
            sampledAtMillis = millis;
        }
        return sample;
    }

    private static int hours(int hour, int b) {
        if ((b & B_24_HOUR) != 0) {
            return encode(hour, b);
        }
        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return encode(h12, b) | (hour >= 12 ? HOUR_PM : 0);
    }

    private static int encode(int value, int b) {
        return (b & B_BINARY) != 0 ? value : (value / 10) << 4 | value % 10;
    }
}
