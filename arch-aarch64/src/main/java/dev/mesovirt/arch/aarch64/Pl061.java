package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.PowerButton;
import dev.mesovirt.vmm.device.IrqLine;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ARM PrimeCell PL061 GPIO controller (ARM DDI 0190) with a power button on one input line, as QEMU's
 * {@code virt} board wires its {@code gpio-key} device: the device tree's {@code gpio-keys} node turns the line into
 * KEY_POWER, which Linux's gpio_keys driver reports on an input device. {@link #press} drives the line high and,
 * {@link #PRESS_TIME} later, low again, so that the guest sees a press and a release.
 *
 * <p>Registers are 8 bits wide in 32-bit slots (bits 31:8 read as zero, writes to them are ignored); Linux uses byte
 * accesses, the AMBA bus's ID probe word accesses. GPIODATA spans 0x000-0x3FC: address bits [9:2] mask the access,
 * so a read returns only the masked pins and a write changes only the masked output pins.
 *
 * <p>Interrupt detection: an edge-sensitive line (GPIOIS 0) latches a raw status bit on a rising or falling edge
 * (GPIOIEV 1 or 0), or on either edge with GPIOIBE, until GPIOIC clears it; a level-sensitive line (GPIOIS 1) has
 * its raw status bit set exactly while the pin is at the GPIOIEV level (GPIOIC has no effect on it, as Linux's
 * driver expects: "these go away when the level signal goes away"). The controller's single output, GPIOINTR, is
 * high while {@code (GPIORIS & GPIOIE) != 0}: a level interrupt, driven through {@link IrqLine} whenever it changes.
 *
 * <p>Thread safety: vCPU threads (register accesses), the QMP thread ({@link #press}), the machine
 * ({@link #reset}) and the release timer call in concurrently; all state is guarded by the instance monitor, and
 * the line is set under it so that it always ends at the last computed level.
 */
public final class Pl061 implements PowerButton, dev.mesovirt.vmm.snapshot.StatefulDevice {
    private static final Logger LOG = LoggerFactory.getLogger(Pl061.class);

    /** The register window: 4 KiB, with the PrimeCell ID registers in its last 32 bytes. */
    public static final long SIZE = 0x1000;
    /** GPIO lines. */
    public static final int LINES = 8;
    /** The line the power button drives, as on QEMU's virt ({@code GPIO_PIN_POWER_BUTTON}). */
    public static final int POWER_BUTTON_LINE = 3;
    /** How long a press holds the line high: QEMU's gpio-key releases after 100 ms. */
    public static final Duration PRESS_TIME = Duration.ofMillis(100);

    static final int GPIODATA_END = 0x400;
    static final int GPIODIR = 0x400;
    static final int GPIOIS = 0x404;
    static final int GPIOIBE = 0x408;
    static final int GPIOIEV = 0x40C;
    static final int GPIOIE = 0x410;
    static final int GPIORIS = 0x414;
    static final int GPIOMIS = 0x418;
    static final int GPIOIC = 0x41C;
    static final int GPIOAFSEL = 0x420;
    /** GPIOPeriphID0..3 then GPIOPCellID0..3, one byte per word from 0xFE0. */
    static final int ID_BASE = 0xFE0;
    /** Part 0x061, designer 0x41 (ARM), revision 0; then the PrimeCell preamble 0xB105F00D. */
    static final int[] ID = {0x61, 0x10, 0x04, 0x00, 0x0D, 0xF0, 0x05, 0xB1};

    private static final int MASK = (1 << LINES) - 1;

    private final Irq irq;
    private final IrqLine line;
    private final Duration pressTime;

    // Guarded by this.
    private int data; // the output latch: what GPIODATA writes set on pins configured as outputs
    private int inputs; // levels driven onto the pins from outside (the power button)
    private int dir;
    private int is;
    private int ibe;
    private int iev;
    private int ie;
    private int edgeStatus; // latched edge events, the edge-sensitive half of GPIORIS
    private int afsel;
    private int pins; // pin levels at the last update, to detect edges
    private boolean lineHigh;
    private long pressGeneration; // the release timer acts only for the latest press

    /**
     * @param irq the SPI the controller's GPIOINTR is wired to
     * @param line drives that SPI (KVM_IRQ_LINE on the vGIC)
     */
    public Pl061(Irq irq, IrqLine line) {
        this(irq, line, PRESS_TIME);
    }

    Pl061(Irq irq, IrqLine line, Duration pressTime) {
        this.irq = Objects.requireNonNull(irq, "irq");
        this.line = Objects.requireNonNull(line, "line");
        this.pressTime = Objects.requireNonNull(pressTime, "pressTime");
    }

    @Override
    public Irq irq() {
        return irq;
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long a = offset + i;
            data[i] = (a & 3) == 0 && a >= 0 && a < SIZE ? (byte) register((int) a) : 0;
        }
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        boolean any = false;
        for (int i = 0; i < data.length; i++) {
            long a = offset + i;
            // Only the low byte of each register exists; the others are reserved.
            if ((a & 3) == 0 && a >= 0 && a < SIZE) {
                setRegister((int) a, data[i] & 0xff);
                any = true;
            }
        }
        if (any) {
            update();
        }
    }

    /**
     * Drives the power button's line high now and low {@link #PRESS_TIME} later. A press while the button is still
     * down keeps it down for another {@link #PRESS_TIME}, as QEMU's gpio-key re-arms its timer.
     */
    @Override
    public void press() {
        long generation;
        synchronized (this) {
            generation = ++pressGeneration;
            setInput(POWER_BUTTON_LINE, true);
        }
        ReleaseTimer.EXECUTOR.schedule(() -> release(generation), pressTime.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void release(long generation) {
        try {
            synchronized (this) {
                if (generation == pressGeneration) {
                    setInput(POWER_BUTTON_LINE, false);
                }
            }
        } catch (RuntimeException e) {
            // The machine may be going away (its VM closed); a release that cannot reach the vGIC is moot then.
            LOG.warn("PL061: releasing the power button failed: {}", e.toString());
        }
    }

    /** The PL061's reset values (every register 0), inputs low, a pending release forgotten. */
    @Override
    public synchronized void reset() {
        pressGeneration++;
        data = 0;
        inputs = 0;
        dir = 0;
        is = 0;
        ibe = 0;
        iev = 0;
        ie = 0;
        edgeStatus = 0;
        afsel = 0;
        pins = 0;
        if (lineHigh) {
            line.set(false);
            lineHigh = false;
        }
    }

    /** Snapshot section version of {@link #saveState}. */
    static final int STATE_VERSION = 1;

    @Override
    public int stateVersion() {
        return STATE_VERSION;
    }

    /** The registers, the latched edges, the inputs and the pins as last seen (the edge detector's memory). */
    @Override
    public synchronized byte[] saveState() {
        return new dev.mesovirt.vmm.snapshot.StateWriter().u8(data).u8(inputs).u8(dir).u8(is).u8(ibe).u8(iev).u8(ie)
                .u8(edgeStatus).u8(afsel).u8(pins).toByteArray();
    }

    /**
     * Gives back what {@link #saveState} took and drives GPIOINTR to match; a button saved while pressed is released
     * {@link #PRESS_TIME} later, as the press's own timer would have.
     */
    @Override
    public void restoreState(dev.mesovirt.vmm.snapshot.Section section) {
        section.requireVersion(STATE_VERSION);
        dev.mesovirt.vmm.snapshot.StateReader r = section.reader();
        int[] v = new int[10];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.u8();
        }
        r.end();
        long generation;
        boolean pressed;
        synchronized (this) {
            data = v[0];
            inputs = v[1];
            dir = v[2];
            is = v[3];
            ibe = v[4];
            iev = v[5];
            ie = v[6];
            edgeStatus = v[7] & ~is;
            afsel = v[8];
            pins = v[9];
            generation = ++pressGeneration;
            pressed = (inputs & (1 << POWER_BUTTON_LINE)) != 0;
            lineHigh = !((rawStatus() & ie) != 0); // forces update() to drive the line to its level
            update();
        }
        if (pressed) {
            ReleaseTimer.EXECUTOR.schedule(() -> release(generation), pressTime.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** Drives external input {@code n} (0..7) to {@code level}; the pin follows while it is configured as input. */
    synchronized void setInput(int n, boolean level) {
        if (n < 0 || n >= LINES) {
            throw new IllegalArgumentException("PL061 line " + n + " out of range 0.." + (LINES - 1));
        }
        inputs = level ? inputs | (1 << n) : inputs & ~(1 << n);
        update();
    }

    /** Whether GPIOINTR is high, i.e. what the SPI was last set to. */
    synchronized boolean interruptLine() {
        return lineHigh;
    }

    private int rawStatus() {
        int level = ~(pins ^ iev) & is;
        return ((edgeStatus & ~is) | level) & MASK;
    }

    private int register(int offset) {
        if (offset < GPIODATA_END) {
            return pins & (offset >> 2);
        }
        if (offset >= ID_BASE) {
            return ID[(offset - ID_BASE) >> 2];
        }
        return switch (offset) {
            case GPIODIR -> dir;
            case GPIOIS -> is;
            case GPIOIBE -> ibe;
            case GPIOIEV -> iev;
            case GPIOIE -> ie;
            case GPIORIS -> rawStatus();
            case GPIOMIS -> rawStatus() & ie;
            case GPIOAFSEL -> afsel;
            default -> 0; // GPIOIC is write-only; the rest is reserved
        };
    }

    private void setRegister(int offset, int value) {
        if (offset < GPIODATA_END) {
            // Pins configured as inputs ignore GPIODATA writes.
            int mask = (offset >> 2) & dir;
            data = (data & ~mask) | (value & mask);
            return;
        }
        switch (offset) {
            case GPIODIR -> dir = value;
            case GPIOIS -> {
                is = value;
                edgeStatus &= ~is; // a line made level-sensitive forgets its latched edges
            }
            case GPIOIBE -> ibe = value;
            case GPIOIEV -> iev = value;
            case GPIOIE -> ie = value;
            case GPIOIC -> edgeStatus &= ~value;
            case GPIOAFSEL -> afsel = value;
            default -> { } // read-only (RIS, MIS, IDs) or reserved
        }
    }

    /** Recomputes the pins, latches their edges and sets GPIOINTR if it changed. Called with the monitor held. */
    private void update() {
        int now = ((data & dir) | (inputs & ~dir)) & MASK;
        int changed = pins ^ now;
        if (changed != 0) {
            int anyEdge = changed & ibe;
            // Without GPIOIBE, the edge GPIOIEV selects: the pin's new level equals IEV (1 rising, 0 falling).
            int selectedEdge = changed & ~ibe & ~(now ^ iev);
            edgeStatus |= (anyEdge | selectedEdge) & ~is & MASK;
            pins = now;
        }
        boolean high = (rawStatus() & ie) != 0;
        if (high != lineHigh) {
            line.set(high);
            lineHigh = high;
        }
    }

    /**
     * One daemon thread for every PL061's releases, created on the first press; it ends after a second without work,
     * so nothing needs closing.
     */
    private static final class ReleaseTimer {
        static final ScheduledThreadPoolExecutor EXECUTOR = IdleScheduler.create("pl061-power-button");
    }
}
