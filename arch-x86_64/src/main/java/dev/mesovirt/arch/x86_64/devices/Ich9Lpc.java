package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.pci.ConfigSpace;
import dev.mesovirt.vmm.pci.PciFunction;
import dev.mesovirt.vmm.pci.PciHeader;
import dev.mesovirt.vmm.pci.PciIdentity;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The q35 chipset's LPC bridge (ICH9, 8086:2918 at 00:1f.0) as far as firmware programs it: the ACPI I/O base
 * (PMBASE, config 0x40, 128 ports) and its enable (ACPI_CNTL, config 0x44, bit 7), and in that block the ACPI PM
 * timer (PMBASE + 8), the 24-bit 3.579545 MHz counter that OVMF's timer library ({@code BaseRomAcpiTimerLib} and
 * its kin) delays with: OVMF writes PMBASE 0x600 and sets the enable itself when it finds it clear. The rest of the
 * block (PM1 event and control registers, GPE) reads 0 and ignores writes: the standard machine's sleep and power
 * button registers are elsewhere (the ACPI tables say where).
 */
public final class Ich9Lpc implements PciFunction {
    public static final PciIdentity ID = new PciIdentity(0x8086, 0x2918, 2, 0x060100, 0x1af4, 0x1100);
    public static final int SLOT = 0x1f;
    static final int PMBASE = 0x40;
    static final int ACPI_CNTL = 0x44;
    static final int ACPI_ENABLE = 0x80;
    static final int PM_BLOCK_LENGTH = 0x80;
    static final int PM_TIMER = 0x08;
    static final long PM_TIMER_HZ = 3_579_545;

    private final PciHeader header;
    private final LongSupplier nanos;
    private final long start;
    private final DebugPort debugPort = new DebugPort();
    private Bus pio;
    /** Where the block is on {@link #pio} now, or -1. */
    private long placedAt = -1;

    public Ich9Lpc() {
        this(System::nanoTime);
    }

    /** An LPC bridge whose PM timer counts {@code nanos} (tests pass a fake clock). */
    Ich9Lpc(LongSupplier nanos) {
        this.nanos = nanos;
        this.start = nanos.getAsLong();
        header = PciHeader.endpoint(ID, ConfigSpace.CONVENTIONAL, 0, Map.of());
        ConfigSpace c = header.config();
        c.set32(PMBASE, 1); // bit 0: an I/O space base, read-only
        c.setWritable(PMBASE, 4, 0xFF80);
        c.setWritable(ACPI_CNTL, 1, ACPI_ENABLE);
        header.powerOnStateDone();
    }

    @Override
    public PciHeader header() {
        return header;
    }

    @Override
    public synchronized void writeConfig(int offset, int size, int value) {
        header.writeConfig(offset, size, value);
        if (offset < ACPI_CNTL + 1 && offset + size > PMBASE) {
            decode();
        }
    }

    @Override
    public synchronized void reset() {
        header.reset();
        decode();
    }

    /**
     * The ports go on {@code pio} (each VM's): the PM block where PMBASE and ACPI_CNTL say, and the debug console
     * (port 0x402) that firmware logs to.
     */
    public synchronized void placeOn(Bus pio) {
        this.pio = pio;
        this.placedAt = -1;
        pio.insert(DebugPort.PORT, 1, debugPort, "debugcon");
        decode();
    }

    /** The PM block's base, or -1 while decoding is off. */
    synchronized long pmBase() {
        ConfigSpace c = header.config();
        int base = c.get32(PMBASE) & 0xFF80;
        return (c.get8(ACPI_CNTL) & ACPI_ENABLE) != 0 && base != 0 ? base : -1;
    }

    private void decode() {
        long want = pmBase();
        if (pio == null || want == placedAt) {
            return;
        }
        if (placedAt >= 0) {
            pio.remove(placedAt);
            placedAt = -1;
        }
        if (want >= 0) {
            try {
                pio.insert(want, PM_BLOCK_LENGTH, new PmBlock(), "ich9-pm");
                placedAt = want;
            } catch (IllegalArgumentException e) {
                // A guest-chosen base over another device's ports: the block stays off, as if not decoded.
            }
        }
    }

    /** The PM timer's count now: 3.579545 MHz since the machine started, 24 bits. */
    int timer() {
        long elapsed = nanos.getAsLong() - start;
        // seconds and the rest apart, so that the product cannot overflow for any uptime
        long ticks = elapsed / 1_000_000_000L * PM_TIMER_HZ + elapsed % 1_000_000_000L * PM_TIMER_HZ / 1_000_000_000L;
        return (int) (ticks & 0xFF_FFFF);
    }

    /** The ACPI I/O block: the timer, and zeros. */
    private final class PmBlock implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            int t = timer();
            for (int i = 0; i < data.length; i++) {
                long at = offset + i;
                data[i] = at >= PM_TIMER && at < PM_TIMER + 4 ? (byte) (t >>> (8 * (at - PM_TIMER))) : 0;
            }
        }

        @Override
        public void write(long offset, byte[] data) {
            // PM1 status/enable/control and GPE writes: nothing behind them here.
        }
    }
}
