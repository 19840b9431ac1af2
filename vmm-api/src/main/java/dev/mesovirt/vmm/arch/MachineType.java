package dev.mesovirt.vmm.arch;

/**
 * The two machines of the design, as StratoVirt has them: the microVM (virtio-mmio slots, no PCI) and the standard
 * machine (a PCI Express host bridge with virtio-pci devices; QEMU's q35 on x86_64). An architecture names the ones
 * it lays out in {@link Architecture#machineTypes()}.
 */
public enum MachineType {
    MICROVM,
    STANDARD
}
