package dev.mesovirt.machine.microvm;

import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.Machine;
import dev.mesovirt.vmm.machine.VirtioConfig;
import dev.mesovirt.vmm.machine.VirtioDevices;
import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The microVM's hot-plug, StratoVirt's model: device_add {@code virtio-blk-mmio} or {@code virtio-net-mmio} fills the
 * replaceable slot its {@code addr} names (numbered per device kind), device_del empties it at once. A disk slot
 * holds an empty drive from boot, so the guest's /dev/vdX exists before device_add and learns the new capacity from
 * a configuration-change interrupt, as under StratoVirt; a NIC slot is found by re-probing the slot's platform device
 * (see the README's QMP section), and since a virtio-mmio slot cannot ask the guest to let a device go, the guest
 * should unbind a NIC's driver before device_del.
 */
final class VirtioMmioHotplug implements DeviceHotplug {
    private static final List<Driver> DRIVERS = List.of(
            new Driver("virtio-blk-mmio", List.of("virtio-blk-device"), Kind.BLOCK),
            new Driver("virtio-net-mmio", List.of("virtio-net-device"), Kind.NET));

    private final Machine machine;
    private final VirtioMmioBoard board;

    VirtioMmioHotplug(Machine machine, VirtioMmioBoard board) {
        this.machine = machine;
        this.board = board;
    }

    @Override
    public List<Driver> drivers() {
        return DRIVERS;
    }

    /**
     * device_add's addr: "0x1", "1" or 1, the slot's number among the slots of its kind, command-line devices first
     * (as StratoVirt numbers its replaceable slots).
     */
    @Override
    public DevicePlacement placement(QmpArguments args) throws QmpException {
        Optional<JsonElement> addr = args.optionalValue("addr");
        if (addr.isEmpty()) {
            throw QmpException.missingParameter("addr");
        }
        JsonElement e = addr.get();
        if (!e.isJsonPrimitive()) {
            throw QmpException.invalidParameterType("addr", "string");
        }
        JsonPrimitive p = e.getAsJsonPrimitive();
        try {
            if (p.isNumber()) {
                return new DevicePlacement.HotplugSlot(Math.toIntExact(p.getAsLong()));
            }
            String s = p.getAsString().trim().toLowerCase(Locale.ROOT);
            return new DevicePlacement.HotplugSlot(s.startsWith("0x") ? Integer.parseInt(s.substring(2), 16)
                    : Integer.parseInt(s));
        } catch (NumberFormatException | ArithmeticException ex) {
            throw QmpException.invalidParameterValue("addr", "a slot number such as \"0x0\"");
        }
    }

    @Override
    public void add(VirtioConfig device) throws QmpException {
        if (!(device.placement().orElse(null) instanceof DevicePlacement.HotplugSlot slot)) {
            VirtioDevices.closePassedDescriptor(device);
            throw QmpException.generic("device " + device.id() + ": a microvm device goes into a replaceable"
                    + " virtio-mmio slot (addr=)" + device.placement().map(p -> ", not at " + p).orElse(""));
        }
        DeviceHotplug.plugWhileRunning(machine, device, d -> board.plug(d, slot.addr()));
    }

    /** Empties the slot at once, so {@code removed} hears of it before this returns. */
    @Override
    public void remove(String id, Consumer<VirtioConfig> removed) throws QmpException {
        VirtioConfig gone;
        try {
            gone = machine.whileRunning(() -> board.unplug(id));
        } catch (NoSuchElementException e) {
            throw QmpException.deviceNotFound("Device '" + id + "' not found");
        } catch (IllegalStateException e) {
            throw QmpException.generic(e.getMessage());
        }
        removed.accept(gone);
    }

    @Override
    public List<VirtioConfig> devices() {
        List<VirtioConfig> out = new ArrayList<>();
        for (DeviceSlot s : board.deviceSlots()) {
            s.device().ifPresent(out::add);
        }
        return out;
    }
}
