package dev.mesovirt.vmm.bus;

/**
 * A device on a port-I/O or MMIO bus. Offsets are relative to the start of the device's range; {@code data.length}
 * is the access size (1, 2, 4 or 8). Called from vCPU threads, possibly several at once: implementations
 * synchronize their own state. A device never throws for guest-controlled values: it ignores the access.
 */
public interface BusDevice {
    /** Fills {@code data} with what the guest reads at {@code offset}. */
    void read(long offset, byte[] data);

    /** Takes what the guest wrote at {@code offset}. */
    void write(long offset, byte[] data);
}
