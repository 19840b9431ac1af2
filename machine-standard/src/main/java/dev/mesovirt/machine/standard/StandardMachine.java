package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.Machine;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.Outcome;
import dev.mesovirt.vmm.machine.RunState;
import java.util.List;

/**
 * The standard machine (StratoVirt's "StandardVM"; QEMU's q35 on x86_64): the architecture-neutral machine core with
 * a PCI Express board instead of the microVM's virtio-mmio slots. Devices are virtio-pci functions on the root bus
 * ({@code pcie.0}) or behind {@code pcie-root-port}s, where QMP can hot-plug them; the architecture lays out the PCI
 * windows and describes the host bridge to the guest (x86_64: ACPI MCFG, DSDT with _CRS, _PRT and _OSC).
 *
 * <p>Use: {@code int code = new StandardMachine(config, topology).run();}, or {@link #start()} etc. as with the
 * microVM's {@code LightMachine}.
 */
public final class StandardMachine implements AutoCloseable {
    private final PciBoard board;
    private final Machine core;
    private final PciHotplug hotplug;

    public StandardMachine(MachineConfig config, PciTopology topology) {
        this(config, topology, Architectures.host(), Kvm.DEFAULT_PATH);
    }

    public StandardMachine(MachineConfig config, PciTopology topology, Architecture arch, String kvmPath) {
        this.board = new PciBoard(config, topology);
        this.core = new Machine(config, arch, MachineType.STANDARD, kvmPath, board);
        this.hotplug = new PciHotplug(core, board);
    }

    /** The machine core: life cycle, vCPUs, and what QMP's machine-neutral commands act on. */
    public Machine core() {
        return core;
    }

    /** Boots the guest and waits for it to stop; returns the process exit code of the {@link Outcome}. */
    public int run() {
        return core.run();
    }

    /** Builds the machine and starts its vCPUs; returns once every vCPU thread is about to enter the guest. */
    public void start() {
        core.start();
    }

    public void stop(Outcome o) {
        core.stop(o);
    }

    public Outcome awaitOutcome() {
        return core.awaitOutcome();
    }

    public void pause() {
        core.pause();
    }

    public void resume() {
        core.resume();
    }

    /** Resets in place: a new VM, PCI functions back to power-on and the firmware's assignment made again. */
    public void reset() {
        core.reset();
    }

    public void powerDown() {
        core.powerDown();
    }

    public RunState runState() {
        return core.runState();
    }

    public MachineConfig config() {
        return core.config();
    }

    /** The virtio devices on the PCI hierarchy now: from the command line and hot-plugged. */
    public List<dev.mesovirt.vmm.machine.VirtioConfig> devices() {
        return board.devices();
    }

    /** QMP's device_add / device_del: virtio-blk-pci and virtio-net-pci into pcie-root-port slots. */
    public DeviceHotplug deviceHotplug() {
        return hotplug;
    }

    @Override
    public void close() {
        core.close();
    }
}
