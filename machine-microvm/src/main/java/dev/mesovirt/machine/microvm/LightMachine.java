package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.Machine;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.MachineFacade;
import java.util.List;

/**
 * The microVM, StratoVirt's "LightMachine": the architecture-neutral {@link Machine} core (KVM VM, guest RAM,
 * in-kernel interrupt controller, a 16550 UART, the architecture's platform devices, the guest kernel, one thread per
 * vCPU) with a board of virtio-mmio slots, some of them replaceable for QMP hot-plug. It never learns which ISA it
 * runs on.
 *
 * <p>Use: {@code int code = new LightMachine(config).run();} boots and blocks until the guest powers off, reboots
 * (which stops the VM, as in StratoVirt's microvm), panics, or fails. {@link #start()}, {@link #awaitOutcome()},
 * {@link #pause()}, {@link #resume()} and {@link #stop(dev.mesovirt.vmm.machine.Outcome)} give a program finer control.
 */
public final class LightMachine implements MachineFacade {
    private final VirtioMmioBoard board;
    private final Machine core;
    private final VirtioMmioHotplug hotplug;

    public LightMachine(MachineConfig config) {
        this(config, Architectures.host(), Kvm.DEFAULT_PATH);
    }

    public LightMachine(MachineConfig config, Architecture arch, String kvmPath) {
        this.board = new VirtioMmioBoard(config);
        this.core = new Machine(config, arch, MachineType.MICROVM, kvmPath, board);
        this.hotplug = new VirtioMmioHotplug(core, board);
    }

    @Override
    public Machine core() {
        return core;
    }

    /** Every virtio-mmio slot, in address order: what it holds and whether QMP may fill or empty it. */
    public List<DeviceSlot> deviceSlots() {
        return board.deviceSlots();
    }

    /**
     * What QMP's device_add and device_del act on: the replaceable virtio-mmio slots, numbered as StratoVirt numbers
     * them (virtio-blk: addr 0..3 and virtio-net: 0..1 by default, the command-line devices of each kind taking the
     * first), filled and emptied at once (see the README's QMP section).
     */
    @Override
    public DeviceHotplug deviceHotplug() {
        return hotplug;
    }
}
