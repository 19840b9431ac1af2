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

    private int in8(long port) {
        byte[] b = new byte[1];
        pio.read(port, b);
        return b[0] & 0xFF;
    }

    /** RST_CNT at 0xCF9, inside the host bridge's configuration ports as on q35, with QEMU's ICH9 semantics. */
    @Test
    void resetControlRegisterAtCf9() {
        java.util.List<String> config = new java.util.ArrayList<>();
        pio.insert(0xCF8, 8, new dev.mesovirt.vmm.bus.BusDevice() {
            @Override
            public void read(long offset, byte[] data) {
                java.util.Arrays.fill(data, (byte) 0x11);
            }

            @Override
            public void write(long offset, byte[] data) {
                config.add(offset + ":" + data.length);
            }
        }, "pci-config-ports");
        lpc.placeOn(pio);
        assertEquals(0, in8(0xCF9), "0 at power-on");
        pio.write(0xCF9, new byte[] {(byte) (Ich9Lpc.SYS_RST | Ich9Lpc.FULL_RST | 0x31)});
        assertEquals(Ich9Lpc.SYS_RST | Ich9Lpc.FULL_RST, in8(0xCF9), "SYS_RST and FULL_RST kept, the rest dropped");
        assertEquals(java.util.List.of(), power.events, "no RST_CPU: no reset");
        // OVMF's ResetCold: IoWrite8 (0xCF9, BIT2 | BIT1).
        pio.write(0xCF9, new byte[] {(byte) (Ich9Lpc.RST_CPU | Ich9Lpc.SYS_RST)});
        assertEquals(java.util.List.of("reset"), power.events);
        pio.write(0xCF9, new byte[] {(byte) Ich9Lpc.RST_CPU});
        assertEquals(java.util.List.of("reset", "reset"), power.events, "RST_CPU alone resets too (QEMU)");
        // The configuration address register still takes its dword at 0xCF8, and the data port its accesses.
        pio.write(0xCF8, new byte[] {0, 0, 0, (byte) 0x80});
        pio.write(0xCFC, new byte[] {1, 2});
        assertEquals(java.util.List.of("0:4", "4:2"), config);
        assertEquals(0x11, in8(0xCF8));
        lpc.reset();
        assertEquals(0, in8(0xCF9), "a machine reset clears it");
    }

    /** Every register firmware programs is back at its power-on value after a machine reset. */
    @Test
    void machineResetRestoresPowerOnValues() {
        lpc.placeOn(pio);
        int pmBase = lpc.readConfig(Ich9Lpc.PMBASE, 4);
        int acpiCntl = lpc.readConfig(Ich9Lpc.ACPI_CNTL, 1);
        lpc.writeConfig(Ich9Lpc.PMBASE, 4, 0x600);
        lpc.writeConfig(Ich9Lpc.ACPI_CNTL, 1, 0x80);
        out16(0x604, 0x0001);
        pio.write(0xCF9, new byte[] {(byte) Ich9Lpc.FULL_RST});
        lpc.reset();
        assertEquals(pmBase, lpc.readConfig(Ich9Lpc.PMBASE, 4));
        assertEquals(0x1, pmBase, "only the I/O space bit");
        assertEquals(acpiCntl, lpc.readConfig(Ich9Lpc.ACPI_CNTL, 1));
        assertEquals(-1, lpc.pmBase(), "no PM block decoded");
        assertEquals(0, in8(0xCF9));
        // The new VM's bus (a reset builds one): the ports go on it as on the first.
        Bus next = new Bus("pio2");
        lpc.placeOn(next);
        lpc.writeConfig(Ich9Lpc.PMBASE, 4, 0x600);
        lpc.writeConfig(Ich9Lpc.ACPI_CNTL, 1, 0x80);
        byte[] b = new byte[2];
        next.read(0x604, b);
        assertEquals(0, b[0] | b[1], "PM1 control cleared");
        next.write(0xCF9, new byte[] {(byte) 0x06});
        assertEquals(java.util.List.of("reset"), power.events);
    }
}
