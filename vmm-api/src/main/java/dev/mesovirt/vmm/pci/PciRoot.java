package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PCI Express root complex of the standard machine: bus 0 with a host bridge at 00.0 (its IDs from the layout),
 * configuration access through ECAM and, on x86, configuration mechanism #1 at ports 0xCF8/0xCFC, routing of
 * configuration cycles through bridges by the bus numbers the guest programmed, the four shared INTx lines, and the
 * firmware's job of assigning bus numbers, BARs and bridge windows before boot ({@link #assignResources}).
 *
 * <p>Every configuration access, attach, detach and hot-plug event is serialized by one lock ({@link #lock()}).
 * Nothing a guest writes makes these throw: absent functions read as all ones, writes to them are dropped.
 */
public final class PciRoot {
    private static final Logger LOG = LoggerFactory.getLogger(PciRoot.class);
    /** The first of the eight ports of configuration mechanism #1 (0xCF8 address, 0xCFC data). */
    public static final long LEGACY_CONFIG_PORT = 0xcf8;
    public static final int LEGACY_CONFIG_PORTS = 8;
    /** Q35 MCH register holding the ECAM base (PCIEXBAR), read-only here: the window is fixed by the machine. */
    static final int PCIEXBAR = 0x60;
    static final int PAM0 = 0x90;
    static final int SMRAM = 0x9D;

    private final Object lock = new Object();
    private final PciLayout layout;
    private final BarMapper mapper;
    private final MsiRouter msiRouter;
    private final SharedLine[] lines = new SharedLine[4];
    private final PciBus bus;
    private final ArrayDeque<Runnable> deferred = new ArrayDeque<>();
    private final BusDevice ecam = new Ecam();
    private final BusDevice legacy = new LegacyConfigPorts();
    private int legacyAddress;

    /**
     * @param intx the host lines of INTA..INTD in the root bus's order: device {@code d}'s pin {@code p}
     *     (0 = INTA) raises {@code intx.get((d + p) % 4)}, as {@code DeviceDescription.PciHostBridge.intxOf} says
     */
    public PciRoot(PciLayout layout, List<IrqLine> intx, BarMapper mapper, MsiRouter msiRouter) {
        if (intx.size() != 4) {
            throw new IllegalArgumentException("a PCI root has four INTx lines, not " + intx.size());
        }
        this.layout = layout;
        this.mapper = mapper;
        this.msiRouter = msiRouter;
        for (int i = 0; i < 4; i++) {
            lines[i] = new SharedLine(intx.get(i));
        }
        this.bus = new PciBus(this, null, false);
        bus.attach(0, 0, new HostBridge(layout));
    }

    /** Bus 0. */
    public PciBus bus() {
        return bus;
    }

    public PciLayout layout() {
        return layout;
    }

    /** The lock every configuration access and topology change holds. */
    public Object lock() {
        return lock;
    }

    BarMapper mapper() {
        return mapper;
    }

    MsiRouter msiRouter() {
        return msiRouter;
    }

    /** The ECAM window, {@link PciLayout#ecamSize()} bytes at {@link PciLayout#ecamBase()} on the MMIO bus. */
    public BusDevice ecam() {
        return ecam;
    }

    /** Configuration mechanism #1: ports {@link #LEGACY_CONFIG_PORT}..+7 on the port-I/O bus (x86). */
    public BusDevice legacyConfigPorts() {
        return legacy;
    }

    /**
     * Runs {@code task} once the current configuration access or topology change has released the lock: for
     * callbacks into the machine (a device removed) that must not run under it.
     */
    void defer(Runnable task) {
        synchronized (lock) {
            deferred.add(task);
        }
    }

    /** Runs what {@link #defer} queued; called after releasing the lock. */
    void runDeferred() {
        while (true) {
            Runnable r;
            synchronized (lock) {
                r = deferred.poll();
            }
            if (r == null) {
                return;
            }
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.error("PCI: deferred callback failed", e);
            }
        }
    }

    /**
     * A configuration read of {@code size} (1, 2 or 4) bytes at {@code register} of bus.device.function, as
     * the guest would make it; all ones where no function answers.
     */
    public int readConfig(int busNumber, int device, int function, int register, int size) {
        int v;
        synchronized (lock) {
            v = read(busNumber, device, function, register, size);
        }
        runDeferred();
        return v;
    }

    /** A configuration write, as the guest would make it; dropped where no function answers. */
    public void writeConfig(int busNumber, int device, int function, int register, int size, int value) {
        synchronized (lock) {
            write(busNumber, device, function, register, size, value);
        }
        runDeferred();
    }

    private int read(int busNumber, int device, int function, int register, int size) {
        int all = size == 4 ? -1 : (1 << (8 * size)) - 1;
        if ((register & (size - 1)) != 0) {
            // Misaligned: byte by byte, so that each byte has the result an aligned byte access would.
            int v = 0;
            for (int i = 0; i < size; i++) {
                v |= read(busNumber, device, function, register + i, 1) << (8 * i);
            }
            return v;
        }
        PciFunction f = find(busNumber, device, function);
        if (f == null || register < 0 || register + size > f.header().config().size()) {
            return all;
        }
        return f.readConfig(register, size) & all;
    }

    private void write(int busNumber, int device, int function, int register, int size, int value) {
        if ((register & (size - 1)) != 0) {
            for (int i = 0; i < size; i++) {
                write(busNumber, device, function, register + i, 1, value >>> (8 * i));
            }
            return;
        }
        PciFunction f = find(busNumber, device, function);
        if (f == null || register < 0 || register + size > f.header().config().size()) {
            return;
        }
        int mask = size == 4 ? -1 : (1 << (8 * size)) - 1;
        f.writeConfig(register, size, value & mask);
    }

    /** The function the guest reaches at bus.device.function through the bridges' bus numbers, or null. */
    private PciFunction find(int busNumber, int device, int function) {
        if (busNumber < 0 || busNumber >= layout.buses() || device < 0 || device > 31 || function < 0
                || function > 7) {
            return null;
        }
        PciBus b = busNumber == 0 ? bus : findBus(bus, busNumber, 0);
        return b == null ? null : b.at(device << 3 | function);
    }

    private static PciBus findBus(PciBus on, int number, int depth) {
        if (depth > 255) {
            return null;
        }
        for (int devfn = on.nextTaken(0); devfn >= 0; devfn = on.nextTaken(devfn + 1)) {
            if (on.at(devfn) instanceof PciBridge b) {
                int secondary = b.header().secondaryBus();
                int subordinate = b.header().subordinateBus();
                if (secondary == 0) {
                    continue; // not configured: forwards nothing
                }
                if (number == secondary) {
                    return b.secondaryBus();
                }
                if (number > secondary && number <= subordinate) {
                    PciBus found = findBus(b.secondaryBus(), number, depth + 1);
                    if (found != null) {
                        return found;
                    }
                }
            }
        }
        return null;
    }

    /**
     * Assigns bus numbers, BARs and bridge windows as a PC firmware does before it boots the kernel, and enables
     * decoding and bus mastering; Linux keeps these assignments. Windows come from the {@link PciLayout}: I/O BARs
     * from its port window, 32-bit and non-prefetchable BARs from the 32-bit window, 64-bit prefetchable BARs from
     * the 64-bit window (the 32-bit one where there is none); each bridge's windows cover what is behind it plus its
     * {@link PciBridge#hotplugReserve()}. Throws {@link IllegalArgumentException} when a window is too small or the
     * bus numbers run out.
     */
    public void assignResources() {
        synchronized (lock) {
            new ResourceAssignment(layout).assign(bus);
        }
        runDeferred();
    }

    /**
     * Machine reset: every function back to its power-on state (BARs unmapped, MSI vectors released, bus numbers
     * cleared); hot-plugged devices stay where they are. Run {@link #assignResources} again before the guest
     * starts.
     */
    public void reset() {
        synchronized (lock) {
            reset(bus);
            for (SharedLine l : lines) {
                l.clear();
            }
        }
        runDeferred();
    }

    private static void reset(PciBus on) {
        for (PciFunction f : on.functions()) {
            if (f instanceof PciBridge b) {
                reset(b.secondaryBus());
            }
            f.reset();
        }
    }

    /** An INTx source on host line {@code line.getAsInt()} (resolved at each assertion), wire-ORed with the rest. */
    IrqLine intxSource(IntSupplier line) {
        return new IrqLine() {
            private int asserted = -1;

            @Override
            public void set(boolean level) {
                synchronized (lines) {
                    if (level && asserted < 0) {
                        int l = line.getAsInt();
                        if (l >= 0) {
                            asserted = l;
                            lines[l].raise();
                        }
                    } else if (!level && asserted >= 0) {
                        lines[asserted].lower();
                        asserted = -1;
                    }
                }
            }
        };
    }

    /** A host line shared by several functions: high while any of them asserts it. */
    private final class SharedLine {
        private final IrqLine host;
        private int sources;

        SharedLine(IrqLine host) {
            this.host = host;
        }

        void raise() {
            if (sources++ == 0) {
                host.set(true);
            }
        }

        void lower() {
            if (sources > 0 && --sources == 0) {
                host.set(false);
            }
        }

        void clear() {
            synchronized (lines) {
                if (sources > 0) {
                    sources = 0;
                    host.set(false);
                }
            }
        }
    }

    /** ECAM: offset = bus << 20 | device << 15 | function << 12 | register. */
    private final class Ecam implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            if (data.length == 8) {
                int lo = access(offset, 4, 0, false);
                int hi = access(offset + 4, 4, 0, false);
                store(data, 0, 4, lo);
                store(data, 4, 4, hi);
                return;
            }
            store(data, 0, data.length, access(offset, data.length, 0, false));
        }

        @Override
        public void write(long offset, byte[] data) {
            if (data.length == 8) {
                access(offset, 4, load(data, 0, 4), true);
                access(offset + 4, 4, load(data, 4, 4), true);
                return;
            }
            access(offset, data.length, load(data, 0, data.length), true);
        }

        private int access(long offset, int size, int value, boolean write) {
            if (size != 1 && size != 2 && size != 4 || offset < 0 || offset + size > layout.ecamSize()) {
                return -1;
            }
            int busNumber = (int) (offset >>> 20);
            int device = (int) (offset >>> 15) & 31;
            int function = (int) (offset >>> 12) & 7;
            int register = (int) offset & 0xfff;
            if (register + size > 0x1000) {
                return -1; // a misaligned access across two functions' spaces
            }
            if (write) {
                writeConfig(busNumber, device, function, register, size, value);
                return 0;
            }
            return readConfig(busNumber, device, function, register, size);
        }
    }

    /** Mechanism #1: a dword address at 0xCF8 (bit 31 enables), data at 0xCFC..0xCFF in any size. */
    private final class LegacyConfigPorts implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            int size = data.length;
            if (offset == 0 && size == 4) {
                synchronized (lock) {
                    store(data, 0, 4, legacyAddress);
                }
                return;
            }
            int address = dataAddress(offset, size);
            if (address < 0) {
                Arrays.fill(data, (byte) 0xff);
                return;
            }
            store(data, 0, size, readConfig((address >>> 16) & 0xff, (address >>> 11) & 31, (address >>> 8) & 7,
                    address & 0xff, size));
        }

        @Override
        public void write(long offset, byte[] data) {
            int size = data.length;
            if (offset == 0 && size == 4) {
                synchronized (lock) {
                    legacyAddress = load(data, 0, 4) & 0x80ff_fffc;
                }
                return;
            }
            int address = dataAddress(offset, size);
            if (address >= 0) {
                writeConfig((address >>> 16) & 0xff, (address >>> 11) & 31, (address >>> 8) & 7, address & 0xff, size,
                        load(data, 0, size));
            }
        }

        /**
         * The bus/device/function/register (bits 23..0, register in 7..0) an access of {@code size} bytes at
         * {@code offset} in 0xCFC..0xCFF reaches, or -1 when it reaches none (outside the data port, or bit 31 clear).
         */
        private int dataAddress(long offset, int size) {
            int k = (int) offset - 4;
            int address;
            synchronized (lock) {
                address = legacyAddress;
            }
            if (k < 0 || size > 4 || k + size > 4 || (address & 0x8000_0000) == 0) {
                return -1;
            }
            return (address & 0x00ff_fffc) + k;
        }
    }

    static void store(byte[] data, int at, int size, int v) {
        for (int i = 0; i < size; i++) {
            data[at + i] = (byte) (v >>> (8 * i));
        }
    }

    static int load(byte[] data, int at, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= (data[at + i] & 0xff) << (8 * i);
        }
        return v;
    }

    /** Function 00.0: the host bridge, with no BARs and no interrupt. */
    private static final class HostBridge implements PciFunction {
        private final PciHeader header;

        HostBridge(PciLayout layout) {
            header = PciHeader.endpoint(identity(layout.hostBridge()), ConfigSpace.CONVENTIONAL, 0, Map.of());
            int length = switch (layout.buses()) {
                case 256 -> 0;
                case 128 -> 1;
                case 64 -> 2;
                default -> -1;
            };
            if (length >= 0) {
                header.config().set32(PCIEXBAR, (int) layout.ecamBase() | length << 1 | 1);
                header.config().set32(PCIEXBAR + 4, (int) (layout.ecamBase() >>> 32));
            }
            // q35's PAM registers (0x90-0x96) and SMRAM (0x9D), which firmware programs: kept as written, with no
            // effect, since RAM below 1 MiB is always RAM here and there is no SMM.
            for (int r = PAM0; r <= PAM0 + 6; r++) {
                header.config().setWritable(r, 1, 0xFF);
            }
            header.config().setWritable(SMRAM, 1, 0xFF);
            header.powerOnStateDone();
        }

        /** The layout's vendor and device ID, class 0x060000 (host bridge), QEMU's subsystem IDs 1af4:1100. */
        static PciIdentity identity(PciLayout.HostBridgeId id) {
            return new PciIdentity(id.vendorId(), id.deviceId(), 0, 0x060000, 0x1af4, 0x1100);
        }

        @Override
        public PciHeader header() {
            return header;
        }
    }
}
