package dev.mesovirt.machine.standard;

import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.Machine;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpException;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * QMP device_add / device_del on the standard machine, as QEMU's q35 does them: a virtio-blk-pci or virtio-net-pci
 * goes into a pcie-root-port's slot ({@code "bus": "pcie.1", "addr": "0x0"}) and the guest's pciehp finds it;
 * device_del presses the slot's attention button, and the device goes (DEVICE_DELETED) once the guest has powered the
 * slot off, about five seconds later with Linux.
 */
final class PciHotplug implements DeviceHotplug {
    private static final List<Driver> DRIVERS = List.of(
            new Driver("virtio-blk-pci", List.of(), Kind.BLOCK),
            new Driver("virtio-net-pci", List.of(), Kind.NET));

    private final Machine machine;
    private final PciBoard board;

    PciHotplug(Machine machine, PciBoard board) {
        this.machine = machine;
        this.board = board;
    }

    @Override
    public List<Driver> drivers() {
        return DRIVERS;
    }

    /** {@code bus} (default the root bus) and {@code addr} ("0x0", "0x3.0x1" or a number; default slot 0). */
    @Override
    public DevicePlacement placement(QmpArguments args) throws QmpException {
        String bus = args.optionalString("bus").orElse(PciTopology.ROOT_BUS);
        Optional<JsonElement> addr = args.optionalValue("addr");
        String text = "0x0";
        if (addr.isPresent()) {
            if (!addr.get().isJsonPrimitive()) {
                throw QmpException.invalidParameterType("addr", "string");
            }
            JsonPrimitive p = addr.get().getAsJsonPrimitive();
            text = p.isNumber() ? Long.toString(p.getAsLong()) : p.getAsString();
        }
        try {
            return DevicePlacement.Pci.parse(bus, text);
        } catch (IllegalArgumentException e) {
            throw QmpException.invalidParameterValue("addr", "a PCI slot such as \"0x0\" (" + e.getMessage() + ")");
        }
    }

    @Override
    public void add(VirtioConfig device) throws QmpException {
        DeviceHotplug.plugWhileRunning(machine, device, board::hotPlug);
    }

    /** Asks the guest to let the device go; {@code removed} hears of it later, from the vCPU thread that did. */
    @Override
    public void remove(String id, Consumer<VirtioConfig> removed) throws QmpException {
        try {
            machine.whileRunning(() -> {
                board.requestUnplug(id, removed);
                return null;
            });
        } catch (NoSuchElementException e) {
            throw QmpException.deviceNotFound(e.getMessage());
        } catch (IllegalStateException e) {
            throw QmpException.generic(e.getMessage());
        }
    }

    @Override
    public List<VirtioConfig> devices() {
        return board.devices();
    }
}
