package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.arch.DeviceDescription;
import java.util.List;

/**
 * What one machine has beyond the {@link Machine} core: the microVM's virtio-mmio slots, the standard machine's PCI
 * host bridge and the devices behind it. The core calls it at fixed points of the machine's life, each time holding
 * the machine's lock with no vCPU running:
 * <ol>
 *   <li>{@link #build} once, on the first boot, after the VM, its interrupt controller, the platform devices and the
 *       UART exist and before the guest is loaded;
 *   <li>{@link #reattach} on each reset (QMP system_reset), at the same point of building the new VM;
 *   <li>{@link #afterIrqChip} after either, once every vCPU exists and the interrupt controller is complete;
 *   <li>{@link #close} once, when the machine is closed, after its vCPU threads have stopped.
 * </ol>
 * Each VM the machine builds comes with its own {@link BoardContext}. The board owns its devices' threads: each
 * virtio device has one of its own (an {@code EventLoop} named after it, Cloud Hypervisor's model), started when the
 * device is plugged in and stopped when it goes or the board closes, so that a device stalled in its work (a slow
 * fsync) stalls no other.
 */
public interface Board {
    /**
     * Creates the board's devices, puts them on {@code context}'s buses with interrupts allocated from its
     * {@link BoardContext#irqChip()}, and appends what the firmware tables must announce to {@code described}.
     * Throws IllegalArgumentException, with a message for the user, for a configuration the board cannot build.
     */
    void build(BoardContext context, List<DeviceDescription> described);

    /**
     * Puts the same devices on a reset machine's new VM: resets them to their power-on state, moves what they had
     * registered with the old VM (ioeventfds) to {@code context.vm()}, allocates their interrupts again in the same
     * order, places them on the new buses and describes them as {@link #build} did (the core checks that the
     * description is the same). Backends (files, TAPs, sockets) and the devices' threads stay. Runs holding the VM
     * lock that {@link BoardContext#irqLine} lines take; meanwhile other threads' interrupts on those lines are
     * dropped (not waited for), so the board may wait for its devices' threads, e.g. to reset each device on its own
     * thread, so that no request of the old boot is in flight.
     */
    void reattach(BoardContext context, List<DeviceDescription> described);

    /**
     * Wires what the interrupt controller accepts only once it is complete (irqfds: arm64's vGIC refuses them before
     * its initialisation, which needs every vCPU). Called for every VM, after {@link #build} and each
     * {@link #reattach}.
     */
    void afterIrqChip(BoardContext context);

    /**
     * Whether the board holds firmware that the vCPUs start in (the standard machine's pflash): then a machine
     * without a kernel starts there. Known from construction: asked before {@link #build} too (the console UART
     * the firmware drives may differ from a kernel's).
     */
    default boolean startsFirmware() {
        return false;
    }

    /** Stops the devices' threads and closes the devices and their backends (machine shutdown). */
    void close();

    /** The ids of the sections {@link #saveState} gives, in order: the devices a snapshot of this board holds. */
    default List<String> stateSections() {
        throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported on this machine type yet");
    }

    /**
     * Each device's state, taken with no device work running (every request complete), and, still in that state,
     * runs {@code whileQuiet} (the machine writes guest RAM then), so that nothing a device does reaches RAM between
     * the two. The vCPUs are parked.
     */
    default List<dev.mesovirt.vmm.snapshot.Section> saveState(Runnable whileQuiet) {
        throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported on this machine type yet");
    }

    /** Gives each device the state {@link #saveState} took, after {@link #afterIrqChip}; {@code sections} by id. */
    default void restoreState(java.util.Map<String, dev.mesovirt.vmm.snapshot.Section> sections) {
        throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: not supported on this machine type yet");
    }
}
