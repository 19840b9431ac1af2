package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.bus.Bus;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class Ich9LpcTest {
    private final AtomicLong now = new AtomicLong(5_000_000_000L);
    private final RecordingPower power = new RecordingPower();
    private final Ich9Lpc lpc = new Ich9Lpc(power, now::get);
    private final Bus pio = new Bus("pio");

    private void out16(long port, int value) {
        pio.write(port, new byte[] {(byte) value, (byte) (value >>> 8)});
    }

    private int in16(long port) {
        byte[] b = new byte[2];
        pio.read(port, b);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8;
    }

    private int port32(long port) {
        byte[] b = new byte[4];
        pio.read(port, b);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    @Test
    void identityAsOvmfChecksIt() {
        assertEquals(0x29188086, lpc.readConfig(0, 4));
        assertEquals(0x0601, lpc.readConfig(0x0A, 2), "an ISA bridge");
    }

    @Test
    void ovmfProgramsPmBaseThenCountsThePmTimer() {
        lpc.placeOn(pio);
        assertEquals(0, lpc.readConfig(Ich9Lpc.ACPI_CNTL, 1) & 0x80, "decoding off after reset");
        assertEquals(-1, port32(0x608), "nothing at 0x608 yet");
        // OVMF's AcpiTimerLib: PMBASE = 0x600, then ACPI_CNTL |= 0x80.
        lpc.writeConfig(Ich9Lpc.PMBASE, 4, 0x600);
        lpc.writeConfig(Ich9Lpc.ACPI_CNTL, 1, 0x80);
        assertEquals(0x601, lpc.readConfig(Ich9Lpc.PMBASE, 4), "bit 0 says I/O space");
        assertEquals(0, port32(0x608));
        now.addAndGet(1_000_000_000L); // one second: 3579545 ticks
        assertEquals(3_579_545, port32(0x608));
        now.addAndGet(4_000_000_000L); // wraps at 24 bits
        assertEquals((int) (5L * 3_579_545 & 0xFFFFFF), port32(0x608));
        assertEquals(0, port32(0x600), "PM1 registers read 0");
        // Moving the block: the old ports go away.
        lpc.writeConfig(Ich9Lpc.PMBASE, 4, 0xB000);
        assertEquals(-1, port32(0x608));
        assertEquals((int) (5L * 3_579_545 & 0xFFFFFF), port32(0xB008));
        lpc.reset();
        assertEquals(-1, port32(0xB008), "a reset stops decoding");
    }

    @Test
    void ovmfResetShutdownPowersOffThroughPm1Control() {
        lpc.placeOn(pio);
        lpc.writeConfig(Ich9Lpc.PMBASE, 4, 0x600);
        lpc.writeConfig(Ich9Lpc.ACPI_CNTL, 1, 0x80);
        // Linux's ACPI enable (SCI_EN) and other sleep types: kept, no power change.
        out16(0x604, 0x0001);
        assertEquals(0x0001, in16(0x604));
        out16(0x604, 0x0001 | 1 << 13 | 1 << 10); // S1-like type 1 with SLP_EN: not supported, ignored
        assertEquals(0x0401, in16(0x604), "SLP_EN reads 0");
        assertEquals(java.util.List.of(), power.events);
        // OVMF's ResetShutdown: IoBitFieldWrite16(PmBase + 4, 10, 13, 0) (SLP_TYP 0), then IoOr16(PmBase + 4, BIT13).
        out16(0x604, in16(0x604) & ~(7 << 10));
        assertEquals(java.util.List.of(), power.events, "SLP_TYP 0 alone does nothing");
        out16(0x604, in16(0x604) | 1 << 13);
        assertEquals(java.util.List.of("off"), power.events);
        // Byte-wide: the high byte alone carries SLP_EN and SLP_TYP.
        pio.write(0x605, new byte[] {(byte) 0x20});
        assertEquals(java.util.List.of("off", "off"), power.events);
        lpc.reset();
        assertEquals(-1, port32(0x604), "a reset stops decoding");
        lpc.writeConfig(Ich9Lpc.PMBASE, 4, 0x600);
        lpc.writeConfig(Ich9Lpc.ACPI_CNTL, 1, 0x80);
        assertEquals(0, in16(0x604), "a reset clears PM1 control");
    }

    @Test
    void needsAPowerTarget() {
        assertThrows(NullPointerException.class, () -> new Ich9Lpc(null));
    }

    @Test
    void debugPortTakesLines() {
        StringBuilder got = new StringBuilder();
        DebugPort d = new DebugPort(line -> got.append('[').append(line).append(']'));
        d.write(0, "SecCoreStartupWithStack(0xFFFCC000)\r\nPlatform".getBytes());
        d.write(0, "Pei\n".getBytes());
        assertEquals("[SecCoreStartupWithStack(0xFFFCC000)][PlatformPei]", got.toString());
        byte[] b = new byte[1];
        d.read(0, b);
        assertEquals((byte) 0xE9, b[0]);
    }
}
