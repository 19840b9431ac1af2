package dev.mesovirt.machine.microvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.TinyX86;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.qmp.QmpException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The microVM on this machine's /dev/kvm with the tiny test architecture ({@link TinyX86}): a start frozen by -S, and
 * StratoVirt's numbering of the hot-plug slots (device_add's addr counts a kind's command-line devices first, as
 * Kata Containers' StratoVirt driver expects: addr 1 for /dev/vdb when the root disk is vda).
 */
@RequiresKvm
class LightMachineSlotsTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needKvmOnX86() {
        TinyX86.requireKvmOnX86();
    }

    private MachineConfig config(List<VirtioConfig> devices) {
        return new MachineConfig("slots-test", Optional.empty(), 1L << 20, 1, Path.of("/nonexistent-kernel"),
                Optional.empty(), "", new SerialConfig.None(), false).withDevices(devices)
                .withHotplug(MachineConfig.HotplugSlots.STRATOVIRT);
    }

    private VirtioConfig.Block disk(String id, Optional<DevicePlacement> placement) throws Exception {
        Path image = Files.write(dir.resolve(id + ".img"), new byte[4096]);
        return new VirtioConfig.Block(id, image, false, false, Optional.empty(), placement);
    }

    @Test
    void aFrozenStartRunsNoGuestCodeUntilResumed() throws Exception {
        TinyX86 arch = new TinyX86();
        try (LightMachine machine = new LightMachine(config(List.of()), arch, Kvm.DEFAULT_PATH)) {
            machine.start(true);
            assertEquals(RunState.PRELAUNCH, machine.runState(), "QMP's prelaunch, as QEMU's -S");
            assertTrue(machine.vcpuThreadIds()[0] > 0, "the vCPU thread exists, parked");
            TimeUnit.MILLISECONDS.sleep(300);
            assertEquals(List.of(), arch.bootReports, "no guest instruction before cont");
            machine.pause();
            assertEquals(RunState.PRELAUNCH, machine.runState(), "stop while frozen changes nothing, as in QEMU");
            machine.resume();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (arch.bootReports.isEmpty() && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(5);
            }
            assertEquals(List.of(0), arch.bootReports, "the firmware ran once resumed");
            assertEquals(RunState.RUNNING, machine.runState());
        }
    }

    @Test
    void addrCountsTheCommandLineDevicesOfItsKindFirst() throws Exception {
        try (LightMachine machine = new LightMachine(config(List.of(disk("root", Optional.empty()))),
                TinyX86.withVirtioSlots(8), Kvm.DEFAULT_PATH)) {
            machine.start();
            List<DeviceSlot> slots = machine.deviceSlots();
            assertEquals(List.of(DeviceSlot.Kind.FIXED, DeviceSlot.Kind.HOTPLUG_BLOCK, DeviceSlot.Kind.HOTPLUG_BLOCK,
                    DeviceSlot.Kind.HOTPLUG_BLOCK, DeviceSlot.Kind.HOTPLUG_NET, DeviceSlot.Kind.HOTPLUG_NET),
                    slots.stream().map(DeviceSlot::kind).toList(), "4 virtio-blk in all, the root disk first; 2 NICs");
            assertEquals(List.of(-1, 1, 2, 3, 0, 1), slots.stream().map(DeviceSlot::addr).toList());

            QmpException taken = assertThrows(QmpException.class, () -> machine.deviceHotplug()
                    .add(disk("vda", Optional.of(new DevicePlacement.HotplugSlot(0)))));
            assertEquals("The slot 0 is occupied already: device 'root' was given on the command line", taken.desc());
            QmpException beyond = assertThrows(QmpException.class, () -> machine.deviceHotplug()
                    .add(disk("vde", Optional.of(new DevicePlacement.HotplugSlot(4)))));
            assertEquals("no hot-plug slot at addr 4 for this device (the machine has 3: 1..3)", beyond.desc());
            machine.deviceHotplug().add(disk("vdb", Optional.of(new DevicePlacement.HotplugSlot(1))));
            assertEquals(Optional.of("vdb"), machine.deviceSlots().get(1).device().map(VirtioConfig::id),
                    "Kata's addr 1 (/dev/vdb) is the first empty slot");
            // The slot's drive stays when its disk goes, and takes the next one (StratoVirt's replaceable disk).
            List<String> removed = new java.util.ArrayList<>();
            machine.deviceHotplug().remove("vdb", d -> removed.add(d.id()));
            assertEquals(List.of("vdb"), removed);
            assertEquals(Optional.empty(), machine.deviceSlots().get(1).device());
            machine.deviceHotplug().add(disk("vdb2", Optional.of(new DevicePlacement.HotplugSlot(1))));
            assertEquals(Optional.of("vdb2"), machine.deviceSlots().get(1).device().map(VirtioConfig::id));
        }
    }

    @Test
    void aFullWindowSharesItsFreeSlotsBetweenDisksAndNics() throws Exception {
        try (LightMachine machine = new LightMachine(config(List.of(disk("root", Optional.empty()))),
                TinyX86.withVirtioSlots(4), Kvm.DEFAULT_PATH)) {
            machine.start();
            assertEquals(List.of(DeviceSlot.Kind.FIXED, DeviceSlot.Kind.HOTPLUG_BLOCK, DeviceSlot.Kind.HOTPLUG_BLOCK,
                    DeviceSlot.Kind.HOTPLUG_NET), machine.deviceSlots().stream().map(DeviceSlot::kind).toList(),
                    "three free slots: a disk, a NIC, a disk");
            assertEquals(List.of(-1, 1, 2, 0), machine.deviceSlots().stream().map(DeviceSlot::addr).toList());
        }
    }
}
