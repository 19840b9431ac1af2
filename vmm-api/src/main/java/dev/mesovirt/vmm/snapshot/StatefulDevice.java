package dev.mesovirt.vmm.snapshot;

/**
 * A platform device (an {@link dev.mesovirt.vmm.arch.Architecture#platformDevices} one) whose registers a snapshot
 * carries: the machine saves it as a section named after the device and gives it back on a restore, before the vCPUs
 * run. Devices that do not implement this start from their reset state after a restore.
 */
public interface StatefulDevice {
    /** The layout version of {@link #saveState}'s bytes. */
    int stateVersion();

    /** The device's state, taken while the guest is paused. */
    byte[] saveState();

    /**
     * Gives back what {@link #saveState} took, on a device built from the same command line, and drives its
     * interrupt line to match; anything this device did not write is a {@link SnapshotException}.
     */
    void restoreState(Section section);
}
