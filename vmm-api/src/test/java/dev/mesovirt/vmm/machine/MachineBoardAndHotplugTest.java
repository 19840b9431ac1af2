package dev.mesovirt.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.qmp.NativeQmpClient;
import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpException;
import dev.mesovirt.vmm.qmp.QmpVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The machine core with a board and a hot-plug of the test's own, on this machine's /dev/kvm ({@link TinyX86}): the
 * core calls the board at the points {@link Board} promises, with the board's devices described to the firmware
 * tables; and a device_del that completes later, on another thread, as PCI unplug will, reaches the client as a
 * DEVICE_DELETED event after the reply, with the drive busy until then.
 */
@RequiresKvm
@Timeout(60)
class MachineBoardAndHotplugTest {
    private static final String OK = "{\"return\": {}}";

    @TempDir
    Path dir;
    private final TinyX86 arch = new TinyX86();
    private final RecordingBoard board = new RecordingBoard();
    private final GuestReleasedHotplug hotplug = new GuestReleasedHotplug();

    @BeforeEach
    void needKvmOnX86() {
        assumeTrue(TinyX86.hostIsX86(), "the test firmware is x86 real-mode code");
        KvmAvailability.require();
    }

    @Test
    void boardHooksAndADeviceDelCompletedLaterFromAnotherThread() throws Exception {
        MachineConfig config = new MachineConfig("core-test", Optional.empty(), 1L << 20, 1,
                Path.of("/nonexistent-kernel-the-test-arch-loads-none"), Optional.empty(), "",
                new SerialConfig.None(), false);
        Path socket = dir.resolve("qmp.sock");
        Path image = Files.write(dir.resolve("d0.img"), new byte[4096]);
        Machine machine = new Machine(config, arch, MachineType.STANDARD, Kvm.DEFAULT_PATH, board);
        MachineQmp qmp = MachineQmp.start(machine, hotplug, socket, new QmpVersion(7, 2, 0, "test"));
        try (NativeQmpClient c = NativeQmpClient.negotiated(socket)) {
            machine.start();
            assertEquals(List.of("build", "afterIrqChip"), board.calls);
            awaitBoots(1);
            assertTrue(arch.requests.get(0).devices().contains(board.described),
                    "the board's device is described to the firmware tables: " + arch.requests.get(0).devices());

            assertEquals(OK, c.request("{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": \"d0\","
                    + " \"file\": {\"driver\": \"file\", \"filename\": \"" + image + "\"}}}"));
            assertEquals(OK, c.request("{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-blk-pci\","
                    + " \"id\": \"disk0\", \"drive\": \"d0\", \"bus\": \"pcie.1\"}}"));
            VirtioConfig.Block added = (VirtioConfig.Block) hotplug.devices().get(0);
            assertEquals(image, added.file());
            assertEquals(Optional.of(new DevicePlacement.Pci("pcie.1", 0, 0)), added.placement());

            assertEquals(OK, c.request("{\"execute\": \"device_del\", \"arguments\": {\"id\": \"disk0\"}}"),
                    "the reply does not wait for the guest");
            assertNull(c.pollLine(200), "no DEVICE_DELETED before the guest lets the device go");
            assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"Node 'd0' is busy: block device is in"
                    + " use by device 'disk0'\"}}",
                    c.request("{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"d0\"}}"));

            hotplug.guestReleases.countDown();
            JsonObject event = JsonParser.parseString(c.nextLine()).getAsJsonObject();
            assertEquals("DEVICE_DELETED", event.get("event").getAsString());
            assertEquals("{\"device\":\"disk0\",\"path\":\"/machine/peripheral/disk0\"}", event.get("data").toString());
            assertNotEquals("qmp-server", hotplug.removedOn, "the removal came from the machine's own thread");
            assertEquals(OK, c.request("{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"d0\"}}"),
                    "the drive is free once the device is gone");

            JsonObject reset = JsonParser.parseString(c.request("{\"execute\": \"system_reset\"}")).getAsJsonObject();
            assertEquals("RESET", reset.get("event").getAsString(), "QEMU's order: the event, then the reply");
            assertEquals(OK, c.nextLine());
            awaitBoots(2);
            assertEquals(List.of("build", "afterIrqChip", "reattach", "afterIrqChip"), board.calls);
            assertEquals(arch.requests.get(0).devices(), arch.requests.get(1).devices());
        } finally {
            qmp.close(null);
            machine.close();
        }
        assertEquals(List.of("build", "afterIrqChip", "reattach", "afterIrqChip", "close"), board.calls);
    }

    private void awaitBoots(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (arch.bootReports.size() < n && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(5);
        }
        assertEquals(n, arch.bootReports.size(), "boots reported on port 0x80");
    }

    /** A board of one described device window, recording the core's calls. */
    private static final class RecordingBoard implements Board {
        final List<String> calls = new CopyOnWriteArrayList<>();
        DeviceDescription described;

        @Override
        public void build(BoardContext context, List<DeviceDescription> out) {
            calls.add("build");
            described = describe(context);
            out.add(described);
        }

        @Override
        public void reattach(BoardContext context, List<DeviceDescription> out) {
            calls.add("reattach");
            out.add(describe(context));
        }

        private static DeviceDescription describe(BoardContext context) {
            Irq irq = context.irqChip().allocate(IrqUse.VIRTIO);
            return new DeviceDescription.VirtioMmio(0xD000_0000L, 0x200, irq);
        }

        @Override
        public void afterIrqChip(BoardContext context) {
            calls.add("afterIrqChip");
        }

        @Override
        public void close() {
            calls.add("close");
        }
    }

    /** PCI-style hot-plug: a device goes once the "guest" releases it, on a thread of its own. */
    private static final class GuestReleasedHotplug implements DeviceHotplug {
        final CountDownLatch guestReleases = new CountDownLatch(1);
        final List<VirtioConfig> devices = new CopyOnWriteArrayList<>();
        volatile String removedOn;

        @Override
        public List<Driver> drivers() {
            return List.of(new Driver("virtio-blk-pci", List.of(), Kind.BLOCK));
        }

        @Override
        public DevicePlacement placement(QmpArguments args) throws QmpException {
            return new DevicePlacement.Pci(args.requiredString("bus"), 0, 0);
        }

        @Override
        public void add(VirtioConfig device) {
            devices.add(device);
        }

        @Override
        public void remove(String id, Consumer<VirtioConfig> removed) throws QmpException {
            VirtioConfig device = devices.stream().filter(d -> d.id().equals(id)).findFirst()
                    .orElseThrow(() -> QmpException.deviceNotFound("Device '" + id + "' not found"));
            Thread.ofPlatform().daemon().name("guest-eject").start(() -> {
                try {
                    guestReleases.await();
                } catch (InterruptedException e) {
                    return;
                }
                devices.remove(device);
                removedOn = Thread.currentThread().getName();
                removed.accept(device);
            });
        }

        @Override
        public List<VirtioConfig> devices() {
            return devices;
        }
    }
}
