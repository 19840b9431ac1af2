package dev.mesovirt.vmm.arch;

/** A device as the firmware tables announce it to the guest. */
public sealed interface DeviceDescription {
    /** A 16550-compatible UART. */
    record Serial(BusKind bus, long base, int registerShift, Irq irq) implements DeviceDescription {}

    /** A virtio-mmio transport slot (possibly empty, for hot-plug). */
    record VirtioMmio(long base, long size, Irq irq) implements DeviceDescription {}

    /** The architecture's {@link dev.mesovirt.vmm.arch.PowerButton}: its register window and interrupt. */
    record PowerButton(BusKind bus, long base, long size, Irq irq) implements DeviceDescription {}
}
