package dev.mesovirt.vmm.arch;

/** What an interrupt is for, so that an architecture can honour fixed assignments (x86 COM1 is IRQ 4). */
public enum IrqUse {
    SERIAL,
    VIRTIO,
    /** The {@link PowerButton}'s event. */
    POWER_BUTTON,
    /** One of a PCI host bridge's four INTx lines (level-triggered, shared). */
    PCI_INTX
}
