package dev.mesovirt.vmm.device;

/** An interrupt line a device drives: level high while it wants service. Edge-triggered lines see the rising edge. */
@FunctionalInterface
public interface IrqLine {
    void set(boolean level);

    /** A line wired to nothing, for devices built without an interrupt (e.g. in tests). */
    IrqLine NONE = level -> {};
}
