package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Test doubles for what the machine implements, and a configurable endpoint. */
final class Fakes {
    private Fakes() {}

    /** q35's layout on x86_64. */
    static final PciLayout LAYOUT = new PciLayout(0xb000_0000L, 256,
            Optional.of(new PciLayout.Window(0xc000, 0x4000)), new PciLayout.Window(0xc000_0000L, 0x3ea0_0000L),
            Optional.of(new PciLayout.Window(0x1_0000_0000L << 2, 32L << 30)), true, PciLayout.HostBridgeId.Q35_MCH);

    /** Maps onto real {@link Bus}es (so overlaps are refused as the machine's are) and records every call. */
    static final class Mapper implements BarMapper {
        final Bus pio = new Bus("pio");
        final Bus mmio = new Bus("mmio");
        final List<String> log = new ArrayList<>();
        /** What is mapped now. */
        final Set<Mapping> live = new HashSet<>();

        record Mapping(BusKind space, long address) {}

        @Override
        public void map(BusKind space, long address, long size, BusDevice region, String name) {
            (space == BusKind.PIO ? pio : mmio).insert(address, size, region, name);
            live.add(new Mapping(space, address));
            log.add("map " + space + " 0x" + Long.toHexString(address) + "+0x" + Long.toHexString(size));
        }

        @Override
        public void unmap(BusKind space, long address, BusDevice region) {
            if (!(space == BusKind.PIO ? pio : mmio).remove(address)) {
                throw new AssertionError("unmap of nothing at 0x" + Long.toHexString(address));
            }
            live.remove(new Mapping(space, address));
            log.add("unmap " + space + " 0x" + Long.toHexString(address));
        }

        String last() {
            return log.isEmpty() ? null : log.get(log.size() - 1);
        }
    }

    /** Records vectors and what is delivered through them. */
    static final class Msi implements MsiRouter {
        final List<Vector> vectors = new ArrayList<>();
        final List<String> log = new ArrayList<>();

        @Override
        public MsiVector allocate(int requesterId) {
            Vector v = new Vector(vectors.size(), requesterId);
            vectors.add(v);
            return v;
        }

        final class Vector implements MsiVector {
            final int id;
            final int requesterId;
            long address;
            int data;
            int signals;
            boolean closed;

            Vector(int id, int requesterId) {
                this.id = id;
                this.requesterId = requesterId;
            }

            @Override
            public void program(long address, int data) {
                if (closed) {
                    throw new AssertionError("program of a closed vector");
                }
                this.address = address;
                this.data = data;
                log.add("program " + id + " 0x" + Long.toHexString(address) + " " + data);
            }

            @Override
            public void signal() {
                if (closed) {
                    throw new AssertionError("signal of a closed vector");
                }
                signals++;
                log.add("signal " + id + " data " + data);
            }

            @Override
            public void close() {
                closed = true;
            }
        }

        /** Total signals carrying {@code data}. */
        int delivered(int data) {
            return (int) log.stream().filter(s -> s.equals("signal " + idOf(data) + " data " + data)).count();
        }

        private int idOf(int data) {
            for (Vector v : vectors) {
                if (v.data == data) {
                    return v.id;
                }
            }
            return -1;
        }
    }

    /** A host line recording its level. */
    static final class Line implements IrqLine {
        boolean level;
        int edges;

        @Override
        public void set(boolean l) {
            if (l && !level) {
                edges++;
            }
            level = l;
        }
    }

    /** A memory region recording the last write. */
    static final class Region implements BusDevice {
        long lastOffset = -1;
        int lastValue;

        @Override
        public void read(long offset, byte[] data) {
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (offset + i);
            }
        }

        @Override
        public void write(long offset, byte[] data) {
            lastOffset = offset;
            lastValue = PciRoot.load(data, 0, Math.min(4, data.length));
        }
    }

    /** A plain endpoint with the given BARs and interrupt pin. */
    static final class Endpoint implements PciFunction {
        final PciHeader header;

        Endpoint(int pin, Map<Integer, Bar> bars) {
            header = PciHeader.endpoint(new PciIdentity(0x1234, 0x5678, 1, 0x020000, 0x1af4, 0x1100),
                    ConfigSpace.CONVENTIONAL, pin, bars).powerOnStateDone();
        }

        @Override
        public PciHeader header() {
            return header;
        }
    }

    static final class Root {
        final Mapper mapper = new Mapper();
        final Msi msi = new Msi();
        final List<Line> lines = List.of(new Line(), new Line(), new Line(), new Line());
        final PciRoot root = new PciRoot(LAYOUT, List.copyOf(lines), mapper, msi);

        int read(int bus, int dev, int fn, int reg, int size) {
            byte[] b = new byte[size];
            root.ecam().read((long) bus << 20 | (long) dev << 15 | (long) fn << 12 | reg, b);
            return PciRoot.load(b, 0, size);
        }

        void write(int bus, int dev, int fn, int reg, int size, int value) {
            byte[] b = new byte[size];
            PciRoot.store(b, 0, size, value);
            root.ecam().write((long) bus << 20 | (long) dev << 15 | (long) fn << 12 | reg, b);
        }
    }
}
