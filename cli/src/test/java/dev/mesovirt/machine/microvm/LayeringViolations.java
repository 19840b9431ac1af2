package dev.mesovirt.machine.microvm;

import dev.mesovirt.arch.aarch64.Aarch64Architecture;
import dev.mesovirt.vmm.pci.PciIdentity;

/** microVM classes that break the layering on purpose, for {@code LayeringFixturesTest}; never used. */
final class LayeringViolations {
    private LayeringViolations() {
    }

    /** The microVM leaning on the PCI library. */
    static final class UsesPci {
        Object device() {
            return new PciIdentity(0x1af4, 0x1041, 1, 0x020000, 0x1af4, 0x1100);
        }
    }

    /** The microVM naming an ISA. */
    static final class UsesAnArchitecture {
        Object arch() {
            return new Aarch64Architecture();
        }
    }
}
