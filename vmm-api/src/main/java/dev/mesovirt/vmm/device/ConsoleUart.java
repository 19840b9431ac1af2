package dev.mesovirt.vmm.device;

import dev.mesovirt.vmm.bus.BusDevice;

/**
 * The machine's console UART, whichever register interface it has ({@link Uart16550}, {@link Pl011}): on its bus,
 * fed by the serial backend, reset with the machine and saved in snapshots.
 */
public interface ConsoleUart extends BusDevice, SerialBackend.Receiver {
    /** The span of its registers on the bus. */
    long length();

    /** Back to the power-on state (machine reset); pending input is discarded. */
    void reset();

    /** The version of the section {@link #saveState} gives. */
    int stateVersion();

    /** The registers and the receive FIFO, for a snapshot. */
    byte[] saveState();

    /** Gives back what {@link #saveState} took. */
    void restoreState(dev.mesovirt.vmm.snapshot.Section section);
}
