package dev.mesovirt.vmm.pci;

/**
 * One PCI function as its bus sees it: a configuration space and the state behind it. Every function is built
 * around a {@link PciHeader}, which implements the standard registers; a function adds its own registers by
 * overriding {@link #readConfig} and {@link #writeConfig} and calling the header for the rest.
 *
 * <p>Configuration accesses come from vCPU threads under the {@link PciRoot}'s lock, one at a time; the offset and
 * size are always within the function's space and naturally aligned (the root splits anything else into bytes).
 */
public interface PciFunction {
    /** The standard part of the function. */
    PciHeader header();

    /** A configuration read of {@code size} (1, 2 or 4) bytes at {@code offset}. */
    default int readConfig(int offset, int size) {
        return header().readConfig(offset, size);
    }

    /** A configuration write of {@code size} (1, 2 or 4) bytes at {@code offset}. */
    default void writeConfig(int offset, int size, int value) {
        header().writeConfig(offset, size, value);
    }

    /** The function was placed on a bus: BARs, MSIs and INTx now reach the machine through {@code place}. */
    default void attach(PciHeader.Attachment place) {
        header().attach(place);
    }

    /** The function left its bus (unplugged): unmap its BARs, drop its interrupts. */
    default void detach() {
        header().detach();
    }

    /** Back to the power-on state (machine reset, bridge secondary bus reset). */
    default void reset() {
        header().reset();
    }
}
