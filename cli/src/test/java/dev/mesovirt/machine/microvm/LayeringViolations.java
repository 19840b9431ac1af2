package dev.mesovirt.machine.microvm;

import dev.mesovirt.arch.aarch64.Aarch64Architecture;
import dev.mesovirt.vmm.pci.PciRoot;

/** microVM classes that break the layering on purpose, for {@code LayeringFixturesTest}; never used. */
final class LayeringViolations {
    private LayeringViolations() {
    }

    /** The microVM leaning on the PCI library. */
    static final class UsesPci {
        Object device() {
            return PciRoot.HOST_BRIDGE;
        }
    }

    /** The microVM naming an ISA. */
    static final class UsesAnArchitecture {
        Object arch() {
            return new Aarch64Architecture();
        }
    }
}
