package dev.mesovirt.machine.microvm;

import static dev.mesovirt.vmm.qmp.NativeQmpClient.openCount;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonParser;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MacAddress;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpException;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The microVM's side of device_add and device_del without a running machine: its drivers, how it reads {@code addr},
 * and that a device it refuses has its passed descriptor closed, as {@link DeviceHotplug#add} promises. Plugging
 * into running slots: LightMachine's QMP through ci/tests/qmp-compare.py and ci/tests/qmp-guest.sh.
 */
class VirtioMmioHotplugTest {
    private static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");

    @TempDir
    Path dir;

    private final DeviceHotplug hotplug = new LightMachine(new MachineConfig("hotplug-test", Optional.empty(),
            64L << 20, 1, Path.of("/nonexistent-kernel"), Optional.empty(), "", new SerialConfig.None(), false)
            .withHotplug(MachineConfig.HotplugSlots.STRATOVIRT), null, "/nonexistent-kvm").deviceHotplug();

    @Test
    void virtioMmioDriversUnderQemusAndStratovirtsNames() {
        assertEquals(List.of(new DeviceHotplug.Driver("virtio-blk-mmio", List.of("virtio-blk-device"),
                        DeviceHotplug.Kind.BLOCK),
                new DeviceHotplug.Driver("virtio-net-mmio", List.of("virtio-net-device"), DeviceHotplug.Kind.NET)),
                hotplug.drivers());
    }

    @Test
    void addrNumbersTheReplaceableSlotOfTheDevicesKind() throws QmpException {
        assertEquals(new DevicePlacement.HotplugSlot(1), placement("\"0x1\""));
        assertEquals(new DevicePlacement.HotplugSlot(2), placement("\" 0X2 \""));
        assertEquals(new DevicePlacement.HotplugSlot(3), placement("3"));
        assertEquals(new DevicePlacement.HotplugSlot(-1), placement("-1"), "checked against the slots by add");
        assertEquals("Parameter 'addr' is missing", refusal(() -> hotplug.placement(args("{}"))));
        assertEquals("Invalid parameter type for 'addr', expected: string", refusal(() -> placement("{}")));
        assertEquals("Parameter 'addr' expects a slot number such as \"0x0\"", refusal(() -> placement("\"0xzz\"")));
        assertEquals("Parameter 'addr' expects a slot number such as \"0x0\"", refusal(() -> placement("4294967296")));
    }

    @Test
    void aRefusedDeviceHasItsPassedDescriptorClosed() throws Exception {
        Path tap = Files.createFile(dir.resolve("tap-stand-in"));
        int fd = Sys.open(tap.toString(), LibC.O_RDONLY);
        assertEquals(1, openCount(tap));
        VirtioConfig.Net pci = new VirtioConfig.Net("n0", Optional.empty(), fd, MAC,
                Optional.of(new DevicePlacement.Pci("pcie.1", 0, 0)));
        assertEquals("device n0: a microvm device goes into a replaceable virtio-mmio slot (addr=), not at "
                + pci.placement().get(), refusal(() -> hotplug.add(pci)));
        assertEquals(0, openCount(tap), "refused for its placement: closed");

        int again = Sys.open(tap.toString(), LibC.O_RDONLY);
        VirtioConfig.Net slot = new VirtioConfig.Net("n0", Optional.empty(), again, MAC,
                Optional.of(new DevicePlacement.HotplugSlot(0)));
        assertEquals("the machine is not running", refusal(() -> hotplug.add(slot)));
        assertEquals(0, openCount(tap), "refused as the machine does not run: closed");
    }

    @Test
    void nothingToRemoveBeforeTheMachineRuns() {
        assertEquals("the machine is not running", refusal(() -> hotplug.remove("d0", removed -> {
            throw new AssertionError("nothing was removed");
        })));
        assertEquals(List.of(), hotplug.devices());
    }

    private DevicePlacement placement(String addr) throws QmpException {
        return hotplug.placement(args("{\"addr\": " + addr + "}"));
    }

    private static QmpArguments args(String json) {
        return QmpArguments.of(JsonParser.parseString(json).getAsJsonObject());
    }

    /** The description of the GenericError {@code call} fails with. */
    private static String refusal(QmpCall call) {
        QmpException e = assertThrows(QmpException.class, call::run);
        assertEquals(QmpException.GENERIC_ERROR, e.errorClass());
        return e.desc();
    }

    @FunctionalInterface
    private interface QmpCall {
        void run() throws QmpException;
    }
}
