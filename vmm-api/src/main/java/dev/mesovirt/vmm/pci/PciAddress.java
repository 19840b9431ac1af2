package dev.mesovirt.vmm.pci;

/** A function's place: bus 0..255, device 0..31, function 0..7. */
public record PciAddress(int bus, int device, int function) {
    public PciAddress {
        if (bus < 0 || bus > 255) {
            throw new IllegalArgumentException("PCI bus " + bus + " is not in 0..255");
        }
        if (device < 0 || device > 31) {
            throw new IllegalArgumentException("PCI device " + device + " is not in 0..31");
        }
        if (function < 0 || function > 7) {
            throw new IllegalArgumentException("PCI function " + function + " is not in 0..7");
        }
    }

    /** The requester ID a message carries: bus << 8 | device << 3 | function. */
    public int requesterId() {
        return bus << 8 | device << 3 | function;
    }

    @Override
    public String toString() {
        return String.format("%02x:%02x.%x", bus, device, function);
    }
}
