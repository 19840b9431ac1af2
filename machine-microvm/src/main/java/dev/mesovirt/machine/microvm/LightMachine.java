package dev.mesovirt.machine.microvm;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.machine.DeviceHotplug;
import dev.mesovirt.vmm.machine.Machine;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.Outcome;
import dev.mesovirt.vmm.machine.RunState;
import java.util.List;

/**
 * The microVM, StratoVirt's "LightMachine": the architecture-neutral {@link Machine} core (KVM VM, guest RAM,
 * in-kernel interrupt controller, a 16550 UART, the architecture's platform devices, the guest kernel, one thread per
 * vCPU) with a board of virtio-mmio slots, some of them replaceable for QMP hot-plug. It never learns which ISA it
 * runs on.
 *
 * <p>Use: {@code int code = new LightMachine(config).run();} boots and blocks until the guest powers off, reboots
 * (which stops the VM, as in StratoVirt's microvm), panics, or fails. {@link #start()}, {@link #awaitOutcome()},
 * {@link #pause()}, {@link #resume()} and {@link #stop(Outcome)} give a program finer control.
 */
public final class LightMachine implements AutoCloseable {
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

    /** Records how the run ended (first caller wins) and stops every vCPU. */
    public void stop(Outcome o) {
        core.stop(o);
    }

    /** Blocks until the machine stops; returns how. */
    public Outcome awaitOutcome() {
        return core.awaitOutcome();
    }

    /** Parks every vCPU and freezes the guest's clock; see {@link Machine#pause()}. */
    public void pause() {
        core.pause();
    }

    public void resume() {
        core.resume();
    }

    /** Resets the machine in place, virtio-mmio slots included; see {@link Machine#reset()}. */
    public void reset() {
        core.reset();
    }

    /** Presses the power button; see {@link Machine#powerDown()}. */
    public void powerDown() {
        core.powerDown();
    }

    public RunState runState() {
        return core.runState();
    }

    public boolean isPaused() {
        return core.isPaused();
    }

    /** The host thread IDs of the vCPU threads, by vCPU index (0 until a thread has started). */
    public int[] vcpuThreadIds() {
        return core.vcpuThreadIds();
    }

    public MachineConfig config() {
        return core.config();
    }

    public BootPlan bootPlan() {
        return core.bootPlan();
    }

    public Architecture architecture() {
        return core.architecture();
    }

    /** Every virtio-mmio slot, in address order: what it holds and whether QMP may fill or empty it. */
    public List<DeviceSlot> deviceSlots() {
        return board.deviceSlots();
    }

    /**
     * What QMP's device_add and device_del act on: the replaceable virtio-mmio slots (virtio-blk: addr 0..3,
     * virtio-net: 0..1 by default), filled and emptied at once (see the README's QMP section).
     */
    public DeviceHotplug deviceHotplug() {
        return hotplug;
    }

    /** Stops the vCPUs if they run and releases KVM, guest memory, the serial backend and the devices. */
    @Override
    public void close() {
        core.close();
    }
}
