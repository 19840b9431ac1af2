package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.pci.ConfigSpace;
import dev.mesovirt.vmm.pci.PciFunction;
import dev.mesovirt.vmm.pci.PciHeader;
import dev.mesovirt.vmm.pci.PciIdentity;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The q35 chipset's LPC bridge (ICH9, 8086:2918 at 00:1f.0) as far as firmware programs it: the ACPI I/O base
 * (PMBASE, config 0x40, 128 ports) and its enable (ACPI_CNTL, config 0x44, bit 7), and in that block the ACPI PM
 * timer (PMBASE + 8), the 24-bit 3.579545 MHz counter that OVMF's timer library ({@code BaseRomAcpiTimerLib} and
 * its kin) delays with: OVMF writes PMBASE 0x600 and sets the enable itself when it finds it clear.
 *
 * <p>PM1 control (PMBASE + 4, 16 bits) keeps what is written, except SLP_EN (bit 13), which is write-only: writing it
 * with SLP_TYP (bits 10-12) 0 powers the machine off. That is QEMU's ICH9 encoding of S5, which OVMF's ResetSystem
 * (EfiResetShutdown) uses: Linux booted through UEFI on this machine, whose ACPI is hardware-reduced, powers off
 * through that runtime service rather than the ACPI sleep registers. Other sleep types are ignored (no S3/S4). The
 * rest of the block (PM1 event registers, GPE) reads 0 and ignores writes.
 *
 * <p>The reset control register (RST_CNT, port 0xCF9, one byte, inside the host bridge's configuration address port,
 * which takes only dword accesses): a write with RST_CPU (bit 2) resets the machine, whatever SYS_RST (bit 1) and
 * FULL_RST (bit 3) say (there is one kind of reset here, the whole machine's, as in QEMU); a write without it keeps
 * SYS_RST and FULL_RST for the next. OVMF's ResetSystemLib writes SYS_RST | RST_CPU for EfiResetCold (then, should
 * that fail, the i8042's 0xFE pulse, which reaches the same reset). A machine reset clears it, as every register
 * here: PMBASE, ACPI_CNTL, PM1 control.
 */
public final class Ich9Lpc implements PciFunction {
    private static final Logger LOG = LoggerFactory.getLogger(Ich9Lpc.class);
    public static final PciIdentity ID = new PciIdentity(0x8086, 0x2918, 2, 0x060100, 0x1af4, 0x1100);
    public static final int SLOT = 0x1f;
    static final int PMBASE = 0x40;
    static final int ACPI_CNTL = 0x44;
    static final int ACPI_ENABLE = 0x80;
    static final int PM_BLOCK_LENGTH = 0x80;
    static final int PM_TIMER = 0x08;
    static final long PM_TIMER_HZ = 3_579_545;
    static final int PM1_CONTROL = 0x04;
    static final int SLP_EN = 1 << 13;
    static final int SLP_TYP_SHIFT = 10;
    static final int SLP_TYP_MASK = 7;
    public static final int RESET_CONTROL_PORT = 0xCF9;
    static final int SYS_RST = 0x02;
    static final int RST_CPU = 0x04;
    static final int FULL_RST = 0x08;

    private final PciHeader header;
    private final GuestPower power;
    private final LongSupplier nanos;
    private final long start;
    private final DebugPort debugPort = new DebugPort();
    private final BusDevice resetControlPort = new ResetControl();
    private Bus pio;
    /** Where the block is on {@link #pio} now, or -1. */
    private long placedAt = -1;
    /** PM1 control without SLP_EN; guarded by this. */
    private int pm1Control;
    /** RST_CNT's SYS_RST and FULL_RST; guarded by this. */
    private int resetControl;

    /** An LPC bridge whose PM1 control register powers the machine off through {@code power}. */
    public Ich9Lpc(GuestPower power) {
        this(power, System::nanoTime);
    }

    /** An LPC bridge whose PM timer counts {@code nanos} (tests pass a fake clock). */
    Ich9Lpc(GuestPower power, LongSupplier nanos) {
        this.power = Objects.requireNonNull(power, "power");
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
        pm1Control = 0;
        resetControl = 0;
        decode();
    }

    /**
     * The ports go on {@code pio} (each VM's): the PM block where PMBASE and ACPI_CNTL say, the debug console (port
     * 0x402) that firmware logs to, and the reset control register at 0xCF9, inside the PCI configuration address
     * port when that is already there (q35: the host bridge is placed first), as QEMU overlaps them.
     */
    public synchronized void placeOn(Bus pio) {
        this.pio = pio;
        this.placedAt = -1;
        pio.insert(DebugPort.PORT, 1, debugPort, "debugcon");
        try {
            pio.insertWithin(RESET_CONTROL_PORT, 1, resetControlPort, "ich9-rst-cnt");
        } catch (IllegalArgumentException inNoOtherRange) {
            pio.insert(RESET_CONTROL_PORT, 1, resetControlPort, "ich9-rst-cnt");
        }
        decode();
    }

    /** A write of RST_CNT: RST_CPU resets the machine (outside this lock), else SYS_RST and FULL_RST are kept. */
    void writeResetControl(int value) {
        synchronized (this) {
            if ((value & RST_CPU) == 0) {
                resetControl = value & (SYS_RST | FULL_RST);
                return;
            }
        }
        LOG.info("reset control register (0xCF9): 0x{} with RST_CPU, the machine resets", Integer.toHexString(value));
        power.reset();
    }

    synchronized int readResetControl() {
        return resetControl;
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

    /**
     * A write of {@code data} at {@code offset} of the PM block: the bytes of PM1 control it covers are stored, the
     * others dropped. Powers off when the written control value has SLP_EN with SLP_TYP 0 (outside this lock).
     */
    void writePm(long offset, byte[] data) {
        boolean off = false;
        synchronized (this) {
            boolean touched = false;
            int value = pm1Control;
            for (int i = 0; i < data.length; i++) {
                long at = offset + i;
                if (at >= PM1_CONTROL && at < PM1_CONTROL + 2) {
                    int shift = (int) (8 * (at - PM1_CONTROL));
                    value = value & ~(0xFF << shift) | (data[i] & 0xFF) << shift;
                    touched = true;
                }
            }
            if (touched) {
                pm1Control = value & ~SLP_EN;
                off = (value & SLP_EN) != 0 && (value >>> SLP_TYP_SHIFT & SLP_TYP_MASK) == 0;
            }
        }
        if (off) {
            power.powerOff();
        }
    }

    /** A read of the PM block: the timer, PM1 control (SLP_EN reads 0), and zeros. */
    void readPm(long offset, byte[] data) {
        int t = timer();
        int control;
        synchronized (this) {
            control = pm1Control;
        }
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            if (at >= PM_TIMER && at < PM_TIMER + 4) {
                data[i] = (byte) (t >>> (8 * (at - PM_TIMER)));
            } else if (at >= PM1_CONTROL && at < PM1_CONTROL + 2) {
                data[i] = (byte) (control >>> (8 * (at - PM1_CONTROL)));
            } else {
                data[i] = 0;
            }
        }
    }

    /** RST_CNT on the port bus: byte accesses (a wider one at 0xCF9 goes to the configuration address port). */
    private final class ResetControl implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            data[0] = (byte) readResetControl();
        }

        @Override
        public void write(long offset, byte[] data) {
            writeResetControl(data[0] & 0xFF);
        }
    }

    /** The ACPI I/O block on the port bus. */
    private final class PmBlock implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            readPm(offset, data);
        }

        @Override
        public void write(long offset, byte[] data) {
            writePm(offset, data);
        }
    }
}
