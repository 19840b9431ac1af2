package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.device.IrqLine;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standard registers of one function, type 0 (endpoint) or type 1 (bridge): identification, Command and
 * Status, the BARs and their placement on the host's buses, the interrupt pin and INTx state, and for bridges the bus
 * numbers and forwarding windows. Capabilities live in the same {@link ConfigSpace} and are added by the function.
 *
 * <p>A BAR is mapped while its decoding is enabled in Command and its address is non-zero and fits its space; a
 * 64-bit BAR whose low half was written is not moved until its high half is written too, so that a half-programmed
 * address is never mapped. A mapping that overlaps another is refused by the {@link BarMapper}: that BAR stays
 * unmapped (logged) until the guest programs it again.
 */
public final class PciHeader {
    private static final Logger LOG = LoggerFactory.getLogger(PciHeader.class);

    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION = 0x08;
    public static final int CLASS_CODE = 0x09;
    public static final int CACHE_LINE_SIZE = 0x0c;
    public static final int HEADER_TYPE = 0x0e;
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    public static final int CAPABILITIES = 0x34;
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;
    // Type 1 registers.
    public static final int PRIMARY_BUS = 0x18;
    public static final int SECONDARY_BUS = 0x19;
    public static final int SUBORDINATE_BUS = 0x1a;
    public static final int IO_BASE = 0x1c;
    public static final int IO_LIMIT = 0x1d;
    public static final int SECONDARY_STATUS = 0x1e;
    public static final int MEMORY_BASE = 0x20;
    public static final int MEMORY_LIMIT = 0x22;
    public static final int PREF_BASE = 0x24;
    public static final int PREF_LIMIT = 0x26;
    public static final int PREF_BASE_UPPER = 0x28;
    public static final int PREF_LIMIT_UPPER = 0x2c;
    public static final int BRIDGE_CONTROL = 0x3e;

    public static final int COMMAND_IO = 0x1;
    public static final int COMMAND_MEMORY = 0x2;
    public static final int COMMAND_BUS_MASTER = 0x4;
    public static final int COMMAND_INTX_DISABLE = 0x400;
    public static final int STATUS_INTERRUPT = 0x8;
    /** Status bits that are RW1C: parity and abort errors. */
    static final int STATUS_ERRORS = 0xf900;
    public static final int BRIDGE_CONTROL_BUS_RESET = 0x40;

    /** Where a function sits and how its BARs and interrupts reach the machine. */
    public record Attachment(PciBus bus, int device, int function, BarMapper mapper, MsiRouter msiRouter,
            IrqLine intx) {
        /** The function's requester ID with the bus number the guest programmed into the bridges above it. */
        public int requesterId() {
            return bus.number() << 8 | device << 3 | function;
        }

        public PciAddress address() {
            return new PciAddress(bus.number(), device, function);
        }
    }

    private final ConfigSpace config;
    private final boolean bridge;
    private final Bar[] bars;
    /** Where each BAR is mapped now, or -1. */
    private final long[] mapped;
    /** A 64-bit BAR whose low half was written and whose high half was not yet. */
    private final boolean[] halfWritten;
    private final int interruptPin;
    private volatile Attachment place;
    private boolean unmapping;
    private boolean multiFunction;
    private final Object intxLock = new Object();
    private boolean intxAsserted;
    private boolean intxOutput;

    private PciHeader(ConfigSpace config, boolean bridge, Bar[] bars, int interruptPin) {
        this.config = config;
        this.bridge = bridge;
        this.bars = bars;
        this.mapped = new long[bars.length];
        this.halfWritten = new boolean[bars.length];
        java.util.Arrays.fill(mapped, -1);
        this.interruptPin = interruptPin;
    }

    /**
     * A type 0 header. {@code bars} maps BAR indexes 0..5 to BARs; a 64-bit BAR takes its index and the next.
     *
     * @param interruptPin 0 for none, 1..4 for INTA..INTD
     */
    public static PciHeader endpoint(PciIdentity id, int configSize, int interruptPin, Map<Integer, Bar> bars) {
        Bar[] table = new Bar[6];
        for (Map.Entry<Integer, Bar> e : bars.entrySet()) {
            int i = e.getKey();
            Bar b = e.getValue();
            if (i < 0 || i + b.registers() > 6) {
                throw new IllegalArgumentException("BAR " + i + " (" + b.type() + ") does not fit in BARs 0..5");
            }
            for (int r = i; r < i + b.registers(); r++) {
                if (table[r] != null || (r > 0 && table[r - 1] != null && table[r - 1].registers() == 2)) {
                    throw new IllegalArgumentException("BAR " + i + " overlaps another BAR");
                }
            }
            table[i] = b;
        }
        PciHeader h = new PciHeader(new ConfigSpace(configSize), false, table, interruptPin);
        h.initCommon(id, 0);
        ConfigSpace c = h.config;
        c.set16(SUBSYSTEM_VENDOR_ID, id.subsystemVendorId());
        c.set16(SUBSYSTEM_ID, id.subsystemId());
        h.initBars();
        return h;
    }

    /** A type 1 header (a bridge without BARs of its own). */
    public static PciHeader bridge(PciIdentity id, int configSize, int interruptPin) {
        PciHeader h = new PciHeader(new ConfigSpace(configSize), true, new Bar[2], interruptPin);
        h.initCommon(id, 1);
        ConfigSpace c = h.config;
        c.setWritable(PRIMARY_BUS, 3, 0xffffff);
        // 16-bit I/O decoding (low nibble 0), 1 MiB memory granularity, 64-bit prefetchable window (low nibble 1).
        c.setWritable(IO_BASE, 2, 0xf0f0);
        c.setClearable(SECONDARY_STATUS, 2, STATUS_ERRORS);
        c.setWritable(MEMORY_BASE, 4, 0xfff0_fff0);
        c.setWritable(PREF_BASE, 4, 0xfff0_fff0);
        c.set32(PREF_BASE, 0x0001_0001);
        c.setWritable(PREF_BASE_UPPER, 4, 0xffffffff);
        c.setWritable(PREF_LIMIT_UPPER, 4, 0xffffffff);
        // Parity, SERR, ISA, VGA, VGA 16-bit decode, master abort mode, secondary bus reset.
        c.setWritable(BRIDGE_CONTROL, 2, 0x007f);
        return h;
    }

    private void initCommon(PciIdentity id, int headerType) {
        if (interruptPin < 0 || interruptPin > 4) {
            throw new IllegalArgumentException("interrupt pin " + interruptPin + " is not 0 (none) or 1..4");
        }
        ConfigSpace c = config;
        c.set16(VENDOR_ID, id.vendorId());
        c.set16(DEVICE_ID, id.deviceId());
        c.set8(REVISION, id.revision());
        c.set(CLASS_CODE, 3, id.classCode());
        c.set8(HEADER_TYPE, headerType);
        c.set8(INTERRUPT_PIN, interruptPin);
        c.setWritable(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_BUS_MASTER | 0x40 | 0x100
                | COMMAND_INTX_DISABLE);
        c.setClearable(STATUS, 2, STATUS_ERRORS);
        c.setWritable(CACHE_LINE_SIZE, 1, 0xff);
        c.setWritable(INTERRUPT_LINE, 1, 0xff);
    }

    private void initBars() {
        for (int i = 0; i < bars.length; i++) {
            Bar b = bars[i];
            if (b == null) {
                continue;
            }
            int reg = BAR0 + 4 * i;
            long mask = ~(b.size() - 1);
            if (b.type() == Bar.Type.IO) {
                config.setWritable(reg, 4, (int) mask & ~0x3);
            } else {
                config.setWritable(reg, 4, (int) mask & ~0xf);
                if (b.type() == Bar.Type.MEMORY64) {
                    config.setWritable(reg + 4, 4, (int) (mask >>> 32));
                }
            }
            config.set32(reg, b.flagBits());
        }
    }

    /** Call once the function added its capabilities: what {@link #reset} returns to. */
    public PciHeader powerOnStateDone() {
        config.markPowerOn();
        return this;
    }

    public ConfigSpace config() {
        return config;
    }

    public boolean isBridge() {
        return bridge;
    }

    /** The BAR at {@code index}, or null. */
    public Bar bar(int index) {
        return index >= 0 && index < bars.length ? bars[index] : null;
    }

    public int barCount() {
        return bars.length;
    }

    /** Where BAR {@code index} is mapped now, or -1. */
    public synchronized long mappedAddress(int index) {
        return mapped[index];
    }

    /** The BAR's address as the guest programmed it (whether or not it is mapped). */
    public long programmedAddress(int index) {
        Bar b = bars[index];
        int reg = BAR0 + 4 * index;
        long low = config.get32(reg) & 0xffffffffL;
        return switch (b.type()) {
            case IO -> low & ~0x3L;
            case MEMORY32 -> low & ~0xfL;
            case MEMORY64 -> (low & ~0xfL) | (config.get32(reg + 4) & 0xffffffffL) << 32;
        };
    }

    public Attachment place() {
        return place;
    }

    public int command() {
        return config.get16(COMMAND);
    }

    public boolean busMaster() {
        return (command() & COMMAND_BUS_MASTER) != 0;
    }

    /** Type 1: the secondary and subordinate bus numbers the guest programmed. */
    public int secondaryBus() {
        return config.get8(SECONDARY_BUS);
    }

    public int subordinateBus() {
        return config.get8(SUBORDINATE_BUS);
    }

    /** Set by the bus when other functions share the device number: bit 7 of Header Type. */
    synchronized void setMultiFunction(boolean on) {
        multiFunction = on;
        config.update(HEADER_TYPE, 1, 0x80, on ? 0x80 : 0);
    }

    public int readConfig(int offset, int size) {
        return config.read(offset, size);
    }

    /** A guest write: the masks apply, then BARs, decoding and INTx follow what changed. */
    public synchronized void writeConfig(int offset, int size, int value) {
        config.write(offset, size, value);
        boolean commandChanged = overlaps(offset, size, COMMAND, 2);
        for (int i = 0; i < bars.length; i++) {
            Bar b = bars[i];
            if (b == null) {
                continue;
            }
            int reg = BAR0 + 4 * i;
            if (overlaps(offset, size, reg, 4)) {
                halfWritten[i] = b.type() == Bar.Type.MEMORY64;
                if (!halfWritten[i]) {
                    refresh(i);
                }
            } else if (b.type() == Bar.Type.MEMORY64 && overlaps(offset, size, reg + 4, 4)) {
                halfWritten[i] = false;
                refresh(i);
            }
        }
        if (commandChanged) {
            for (int i = 0; i < bars.length; i++) {
                if (bars[i] != null) {
                    refresh(i);
                }
            }
            updateIntx();
        }
    }

    /** Whether an access of {@code size} bytes at {@code offset} touches the register of {@code regSize} at {@code reg}. */
    public static boolean overlaps(int offset, int size, int reg, int regSize) {
        return offset < reg + regSize && reg < offset + size;
    }

    /** Where BAR {@code i} should be mapped now, or -1. */
    private long wanted(int i) {
        Bar b = bars[i];
        int enable = b.type() == Bar.Type.IO ? COMMAND_IO : COMMAND_MEMORY;
        if (place == null || unmapping || (command() & enable) == 0) {
            return -1;
        }
        if (halfWritten[i]) {
            return mapped[i]; // keep the old placement until the high half arrives
        }
        long address = programmedAddress(i);
        long end = address + b.size();
        if (address == 0 || end < address || end == 0) {
            return -1;
        }
        if (b.type() == Bar.Type.IO && end > 0x10000) {
            return -1;
        }
        return address;
    }

    private void refresh(int i) {
        long want = wanted(i);
        if (want == mapped[i]) {
            return;
        }
        Bar b = bars[i];
        BusKind space = b.type() == Bar.Type.IO ? BusKind.PIO : BusKind.MMIO;
        Attachment p = place;
        if (mapped[i] >= 0) {
            long old = mapped[i];
            mapped[i] = -1;
            b.listener().unmapped(old);
            if (p != null) {
                p.mapper().unmap(space, old, b.region());
            }
        }
        if (want >= 0 && p != null) {
            String name = p.address() + " BAR" + i;
            try {
                p.mapper().map(space, want, b.size(), b.region(), name);
            } catch (IllegalArgumentException e) {
                LOG.warn("{}: not mapped at 0x{}: {}", name, Long.toHexString(want), e.getMessage());
                return;
            }
            mapped[i] = want;
            b.listener().mapped(want);
        }
    }

    /** Places the function: BARs can now be mapped, interrupts delivered. */
    public synchronized void attach(Attachment where) {
        place = where;
        for (int i = 0; i < bars.length; i++) {
            if (bars[i] != null) {
                refresh(i);
            }
        }
        updateIntx();
    }

    /** Removes the function from its bus: BARs unmapped, INTx released. */
    public synchronized void detach() {
        unmapAll();
        synchronized (intxLock) {
            if (intxOutput && place != null) {
                place.intx().set(false);
            }
            intxOutput = false;
        }
        place = null;
    }

    private void unmapAll() {
        unmapping = true; // so that refresh wants nothing
        try {
            for (int i = 0; i < bars.length; i++) {
                if (bars[i] != null) {
                    refresh(i);
                }
            }
        } finally {
            unmapping = false;
        }
    }

    /** Power-on state: registers as built, BARs unmapped, INTx low. */
    public synchronized void reset() {
        unmapAll();
        config.reset();
        config.update(HEADER_TYPE, 1, 0x80, multiFunction ? 0x80 : 0);
        java.util.Arrays.fill(halfWritten, false);
        synchronized (intxLock) {
            intxAsserted = false;
        }
        updateIntx();
    }

    /**
     * The function's INTx pin (high = asserting). Sets Status bit 3 (Interrupt Status) whatever Command bit 10
     * (Interrupt Disable) says; the pin reaches the bus only while interrupts are not disabled. Any thread.
     */
    public void setIntx(boolean level) {
        if (interruptPin == 0) {
            return;
        }
        synchronized (intxLock) {
            intxAsserted = level;
            config.update(STATUS, 2, STATUS_INTERRUPT, level ? STATUS_INTERRUPT : 0);
            updateIntx();
        }
    }

    private void updateIntx() {
        synchronized (intxLock) {
            Attachment p = place;
            boolean out = intxAsserted && p != null && (command() & COMMAND_INTX_DISABLE) == 0;
            if (out != intxOutput) {
                intxOutput = out;
                if (p != null) {
                    p.intx().set(out);
                }
            }
        }
    }

    public int interruptPin() {
        return interruptPin;
    }
}
