package dev.mesovirt.vmm.pci;

/**
 * The read-only identification of a function: vendor and device IDs, revision, class code (base class, subclass,
 * programming interface as one 24-bit value, e.g. 0x060400 for a PCI-to-PCI bridge), and the subsystem IDs
 * (type 0 headers only; bridges leave them 0).
 */
public record PciIdentity(int vendorId, int deviceId, int revision, int classCode, int subsystemVendorId,
        int subsystemId) {
    public PciIdentity {
        if ((vendorId & ~0xffff) != 0 || vendorId == 0xffff || (deviceId & ~0xffff) != 0 || (revision & ~0xff) != 0
                || (classCode & ~0xffffff) != 0 || (subsystemVendorId & ~0xffff) != 0 || (subsystemId & ~0xffff) != 0) {
            throw new IllegalArgumentException("bad PCI identity " + Integer.toHexString(vendorId) + ":"
                    + Integer.toHexString(deviceId));
        }
    }
}
