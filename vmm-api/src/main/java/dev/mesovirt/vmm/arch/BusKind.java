package dev.mesovirt.vmm.arch;

/** Which address space a device sits in. Port I/O exists on x86 only. */
public enum BusKind {
    PIO,
    MMIO
}
