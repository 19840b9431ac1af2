package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootPlan;

/**
 * The public face of a machine type (the microVM's {@code LightMachine}, the standard machine's
 * {@code StandardMachine}): its {@link Machine core}, whose life cycle every machine type shares and which these
 * methods delegate to, and what QMP's device_add/device_del act on, which is the machine type's own.
 */
public interface MachineFacade extends AutoCloseable {
    /** The machine core: life cycle, vCPUs, and what QMP's machine-neutral commands act on. */
    Machine core();

    /** QMP's device_add / device_del on this machine type. */
    DeviceHotplug deviceHotplug();

    /** Boots the guest and waits for it to stop; returns the process exit code of the {@link Outcome}. */
    default int run() {
        return core().run();
    }

    /** See {@link Machine#seccomp}: the seccomp filter {@link #start} installs, or null (the default) for none. */
    default void seccomp(dev.mesovirt.vmm.seccomp.SeccompFilter.Mode mode) {
        core().seccomp(mode);
    }

    /** Builds the machine and starts its vCPUs; returns once every vCPU thread is about to enter the guest. */
    default void start() {
        core().start();
    }

    /** {@link #start()}, or with {@code frozen} the vCPUs parked before the guest's first instruction (-S). */
    default void start(boolean frozen) {
        core().start(frozen);
    }

    /** Records how the run ended (first caller wins) and stops every vCPU. */
    default void stop(Outcome o) {
        core().stop(o);
    }

    /** Blocks until the machine stops; returns how. */
    default Outcome awaitOutcome() {
        return core().awaitOutcome();
    }

    /** Parks every vCPU and freezes the guest's clock; see {@link Machine#pause()}. */
    default void pause() {
        core().pause();
    }

    default void resume() {
        core().resume();
    }

    /** Resets the machine in place, its board's devices included; see {@link Machine#reset()}. */
    default void reset() {
        core().reset();
    }

    /** Presses the power button; see {@link Machine#powerDown()}. */
    default void powerDown() {
        core().powerDown();
    }

    default RunState runState() {
        return core().runState();
    }

    default boolean isPaused() {
        return core().isPaused();
    }

    /** The host thread IDs of the vCPU threads, by vCPU index (0 until a thread has started). */
    default int[] vcpuThreadIds() {
        return core().vcpuThreadIds();
    }

    default MachineConfig config() {
        return core().config();
    }

    default BootPlan bootPlan() {
        return core().bootPlan();
    }

    default Architecture architecture() {
        return core().architecture();
    }

    /** Stops the vCPUs if they run and releases KVM, guest memory, the serial backend and the devices. */
    @Override
    default void close() {
        core().close();
    }
}
