package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.bus.Bus;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.device.IrqLine;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.pci.BarMapper;
import dev.mesovirt.vmm.pci.MsiRouter;
import dev.mesovirt.vmm.pci.MsiVector;
import dev.mesovirt.vmm.pci.MsixTable;
import dev.mesovirt.vmm.pci.PciRoot;
import dev.mesovirt.vmm.pci.PcieRootPort;
import dev.mesovirt.vmm.sys.EventFd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The virtio-pci transport ({@link VirtioPciFunction}) as a hostile guest drives it, here for a read-only virtio-blk
 * (it has a device configuration space, and a read-only image keeps inputs independent of each other): configuration
 * reads and writes of any size and offset (through the root's ECAM routing: the capabilities, the PCI configuration
 * access window, MSI-X control, BARs, the command register), reads and writes of any size and offset in BAR 4
 * (common configuration, ISR, device configuration, notifications; through the ioeventfd where one is registered, as
 * KVM would) and in BAR 1 (the MSI-X table and pending bits), guest memory (rings, descriptors), the device thread's
 * turn (the queues whose notify eventfd was signalled are processed), and the Linux driver's initialisation with
 * fuzzed features, rings and vectors. The function sits behind a PCIe root port, as on the standard machine; each
 * input starts with a machine reset and the firmware's assignment.
 *
 * <p>Nothing may escape the transport (bad input marks the device DEVICE_NEEDS_RESET or is ignored); an MSI is
 * never sent through a released route; the queues' ioeventfds are registered exactly at BAR 4's notify addresses
 * while it is mapped, and nowhere otherwise. At the end a driver reset (device_status 0) must bring the device down,
 * and a machine reset must bring the whole function back: its configuration space as built, MSI-X disabled with every
 * vector masked and nothing pending, no MSI route, no ioeventfd, INTx low, ISR 0, no vector assigned.
 */
class VirtioPciFunctionFuzzTarget {
    private static final PciLayout LAYOUT = new PciLayout(0xb000_0000L, 256,
            Optional.of(new PciLayout.Window(0xc000, 0x4000)), new PciLayout.Window(0xc000_0000L, 0x3ea0_0000L),
            Optional.of(new PciLayout.Window(0x4_0000_0000L, 32L << 30)), true, PciLayout.HostBridgeId.Q35_MCH);
    private static final int BAR4_SIZE = (int) VirtioPciFunction.CONFIG_BAR_SIZE;

    private static GuestMemory mem;
    private static Path image;
    private static final Bus MMIO = new Bus("mmio");
    /** The ioeventfds KVM would hold: address to eventfd (2-byte writes, no data match). */
    private static final Map<Long, EventFd> IOEVENTS = new HashMap<>();
    private static final List<Route> ROUTES = new ArrayList<>();
    private static final boolean[] LINES = new boolean[4];
    private static PciRoot root;
    private static PcieRootPort port;
    private static VirtioPciFunction f;
    private static byte[] powerOn;

    /** One MSI route the machine made: it must not be used once released. */
    private static final class Route implements MsiVector {
        boolean closed;
        int signals;

        @Override
        public void program(long address, int data) {
            assertFalse(closed, "MSI route programmed after its release");
        }

        @Override
        public void signal() {
            assertFalse(closed, "MSI sent through a released route");
            signals++;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @BeforeAll
    static void build() throws IOException {
        mem = VirtioFuzzing.memory();
        Path base = Files.createDirectories(Path.of("target").toAbsolutePath());
        image = Files.createTempFile(base, "fuzz-pci-blk", ".img");
        Files.write(image, new byte[64 * 1024]);
        BarMapper mapper = new BarMapper() {
            @Override
            public void map(BusKind space, long address, long size, BusDevice region, String name) {
                assertEquals(BusKind.MMIO, space, "virtio-pci has memory BARs only");
                MMIO.insert(address, size, region, name);
            }

            @Override
            public void unmap(BusKind space, long address, BusDevice region) {
                assertTrue(MMIO.remove(address), () -> "unmap of nothing at 0x" + Long.toHexString(address));
            }
        };
        MsiRouter router = requesterId -> {
            Route r = new Route();
            ROUTES.add(r);
            return r;
        };
        List<IrqLine> intx = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int line = i;
            intx.add(level -> LINES[line] = level);
        }
        root = new PciRoot(LAYOUT, intx, mapper, router);
        IoEventRegistrar registrar = new IoEventRegistrar() {
            @Override
            public void register(EventFd fd, long address, int length) {
                assertEquals(2, length);
                assertTrue(IOEVENTS.putIfAbsent(address, fd) == null,
                        () -> "a second ioeventfd at 0x" + Long.toHexString(address));
            }

            @Override
            public void unregister(EventFd fd, long address, int length) {
                assertTrue(IOEVENTS.remove(address, fd), () -> "unregister of nothing at 0x"
                        + Long.toHexString(address));
            }
        };
        f = new VirtioPciFunction("blk", new BlockDevice("blk", image, true, false, "FUZZ"), mem, registrar);
        port = new PcieRootPort(root, 1, PcieRootPort.Reserve.DEFAULT, x -> { });
        root.bus().attach(1, 0, port);
        port.insert(f);
        powerOn = configSpace();
    }

    @AfterAll
    static void tearDown() throws IOException {
        f.closeUnconnected();
        f.device().close();
        mem.close();
        Files.deleteIfExists(image);
    }

    /** The function's 256 bytes of configuration space, read without the access window's side effects. */
    private static byte[] configSpace() {
        byte[] out = new byte[256];
        for (int i = 0; i < out.length; i += 4) {
            int v = f.header().readConfig(i, 4);
            for (int k = 0; k < 4; k++) {
                out[i + k] = (byte) (v >>> (8 * k));
            }
        }
        return out;
    }

    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        VirtioFuzzing.wipe(mem);
        root.reset();
        root.assignResources();
        int steps = 0;
        while (data.remainingBytes() > 0 && steps++ < 256) {
            switch (data.consumeInt(0, 10)) {
                case 0, 1 -> {
                    int size = data.pickValue(new int[] {1, 2, 4});
                    int reg = data.consumeBoolean() ? data.consumeInt(0, 0xfff) : data.consumeInt(0, 0xff);
                    if (data.consumeBoolean()) {
                        root.writeConfig(bus(), 0, 0, reg, size, data.consumeInt());
                    } else {
                        root.readConfig(bus(), 0, 0, reg, size);
                    }
                }
                case 2, 3 -> bar(VirtioPciFunction.CONFIG_BAR, data.consumeInt(0, BAR4_SIZE - 1), data);
                case 4 -> bar(VirtioPciFunction.MSIX_BAR, data.consumeInt(0, 0xfff), data);
                case 5 -> VirtioFuzzing.poke(mem, VirtioFuzzing.address(data), data.consumeBytes(data.consumeInt(1, 64)));
                case 6 -> VirtioFuzzing.descriptor(mem, data);
                case 7 -> VirtioFuzzing.publish(mem, data);
                case 8 -> deviceThread();
                case 9 -> initialise(data);
                default -> common(0x3000 + 4L * data.consumeInt(0, f.queueCount()), 2, 0); // notify
            }
        }
        deviceThread();
        checkIoEvents();
        // A driver reset (device_status 0) always brings the device down.
        f.header().bar(VirtioPciFunction.CONFIG_BAR).region().write(0x14, new byte[1]);
        assertEquals(0, f.status(), "device_status after a driver reset");
        assertFalse(f.isLive(), "live after a driver reset");
        // A machine reset brings the whole function back to its power-on state.
        root.reset();
        assertFalse(f.isLive(), "live after a machine reset");
        assertArrayEquals(powerOn, configSpace(), "configuration space after reset differs from power-on");
        for (boolean l : LINES) {
            assertFalse(l, "an INTx line stays asserted after reset");
        }
        for (Route r : ROUTES) {
            assertTrue(r.closed, "an MSI route stays after reset");
        }
        ROUTES.clear();
        assertTrue(IOEVENTS.isEmpty(), () -> "ioeventfds after reset: " + IOEVENTS.keySet());
        MsixTable msix = f.msix();
        assertFalse(msix.enabled(), "MSI-X enabled after reset");
        for (int v = 0; v < msix.vectors(); v++) {
            assertTrue(msix.masked(v) && !msix.pending(v), "MSI-X vector " + v + " unmasked or pending after reset");
        }
        BusDevice region = f.header().bar(VirtioPciFunction.CONFIG_BAR).region();
        assertEquals(0, read(region, VirtioPciFunction.ISR_CFG, 1), "ISR after reset");
        assertEquals(0, read(region, 0x14, 1), "device_status after reset");
        assertEquals(VirtioPciFunction.NO_VECTOR, read(region, 0x10, 2), "config_msix_vector after reset");
        for (int q = 0; q < f.queueCount(); q++) {
            region.write(0x16, new byte[] {(byte) q, (byte) (q >>> 8)});
            assertEquals(VirtioPciFunction.NO_VECTOR, read(region, 0x1a, 2), "queue_msix_vector after reset");
            assertEquals(0, read(region, 0x1c, 2), "queue_enable after reset");
        }
    }

    /** The port's secondary bus: where the guest reaches the function. */
    private static int bus() {
        return port.header().secondaryBus();
    }

    /** An access of any size at {@code offset} in BAR {@code index}, where the guest mapped it (else it misses). */
    private static void bar(int index, int offset, FuzzedDataProvider data) {
        int size = data.pickValue(new int[] {1, 2, 4, 8, 3});
        long base = f.header().mappedAddress(index);
        if (base < 0) {
            return;
        }
        byte[] bytes = new byte[size];
        if (data.consumeBoolean()) {
            for (int i = 0; i < size; i++) {
                bytes[i] = data.consumeByte();
            }
            write(base + offset, bytes);
        } else {
            MMIO.read(base + offset, bytes);
        }
    }

    /** A guest write: a 2-byte write where an ioeventfd sits signals it in the kernel; the rest is a VM exit. */
    private static void write(long address, byte[] bytes) {
        EventFd io = bytes.length == 2 ? IOEVENTS.get(address) : null;
        if (io != null) {
            io.signal();
        } else {
            MMIO.write(address, bytes);
        }
    }

    /** A common configuration (BAR 4) write of {@code size} bytes, as the driver makes it. */
    private static void common(long offset, int size, long value) {
        long base = f.header().mappedAddress(VirtioPciFunction.CONFIG_BAR);
        if (base < 0) {
            return;
        }
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (value >>> (8 * i));
        }
        write(base + offset, b);
    }

    private static long read(BusDevice region, long offset, int size) {
        byte[] b = new byte[size];
        region.read(offset, b);
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (b[i] & 0xffL) << (8 * i);
        }
        return v;
    }

    /** The device thread's turn: every queue whose notify eventfd was signalled is processed. */
    private static void deviceThread() {
        for (int q = 0; q < f.queueCount(); q++) {
            if (f.notifyFd(q).consume() > 0) {
                f.notifyQueue(q);
            }
        }
    }

    /** The queues' ioeventfds sit exactly at BAR 4's notify addresses while it is mapped, nowhere otherwise. */
    private static void checkIoEvents() {
        long bar4 = f.header().mappedAddress(VirtioPciFunction.CONFIG_BAR);
        assertEquals(bar4, f.notifyBase(), "ioeventfds placed where BAR 4 is not");
        if (bar4 < 0) {
            assertTrue(IOEVENTS.isEmpty(), () -> "ioeventfds with BAR 4 unmapped: " + IOEVENTS.keySet());
            return;
        }
        assertEquals(f.queueCount(), IOEVENTS.size(), () -> "ioeventfds: " + IOEVENTS.keySet());
        for (int q = 0; q < f.queueCount(); q++) {
            long at = bar4 + VirtioPciFunction.NOTIFY_CFG + (long) q * VirtioPciFunction.NOTIFY_OFF_MULTIPLIER;
            assertTrue(IOEVENTS.get(at) == f.notifyFd(q), "queue " + q + "'s ioeventfd is not at its address");
        }
    }

    /**
     * Linux's virtio_pci_modern probe and virtio_dev_probe, with the features, vectors and rings from the input:
     * MSI-X set up (or not) through the capability and the table, reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK,
     * the configuration vector, each queue's size, vector, rings and enable, and a final status.
     */
    private static void initialise(FuzzedDataProvider data) {
        int vectors = f.msix().vectors();
        if (data.consumeBoolean()) {
            int cap = f.msix().capability();
            root.writeConfig(bus(), 0, 0, cap + 2, 2, MsixTable.CONTROL_ENABLE | MsixTable.CONTROL_FUNCTION_MASK);
            long table = f.header().mappedAddress(VirtioPciFunction.MSIX_BAR);
            for (int v = 0; v < vectors && table >= 0; v++) {
                write(table + 16L * v, new byte[] {0, 0, (byte) 0xe0, (byte) 0xfe});
                write(table + 16L * v + 8, new byte[] {(byte) (0x40 + v), 0, 0, 0});
                write(table + 16L * v + 12, new byte[] {(byte) (data.consumeBoolean() ? 0 : 1), 0, 0, 0});
            }
            root.writeConfig(bus(), 0, 0, cap + 2, 2, MsixTable.CONTROL_ENABLE);
        }
        common(0x14, 1, 0);
        common(0x14, 1, 1);
        common(0x14, 1, 3);
        long features = data.consumeLong();
        common(0x08, 4, 0);
        common(0x0c, 4, features);
        common(0x08, 4, 1);
        common(0x0c, 4, features >>> 32);
        common(0x14, 1, 11);
        common(0x10, 2, data.consumeInt(0, vectors + 1));
        for (int q = 0; q < f.queueCount(); q++) {
            common(0x16, 2, q);
            common(0x18, 2, data.pickValue(new int[] {1, 2, 4, 8, 16, 128, 256, 3, 0, 1024}));
            common(0x1a, 2, data.consumeInt(0, vectors + 1));
            for (int reg : new int[] {0x20, 0x28, 0x30}) {
                long a = data.consumeBoolean() ? VirtioFuzzing.address(data) & ~0xfL : data.consumeLong();
                if (data.consumeBoolean()) {
                    common(reg, 8, a);
                } else {
                    common(reg, 4, a); // vp_iowrite64_twopart: low, then high
                    common(reg + 4, 4, a >>> 32);
                }
            }
            common(0x1c, 2, 1);
        }
        common(0x14, 1, data.consumeBoolean() ? 15 : data.consumeInt(0, 255));
    }
}
