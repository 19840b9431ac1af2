package dev.mesovirt.vmm.machine;

import dev.mesovirt.arch.x86_64.X86_64Architecture;
import dev.mesovirt.vmm.pci.PciIdentity;

/** Machine-core classes that break the layering on purpose, for {@code LayeringFixturesTest}; never used. */
final class LayeringViolations {
    private LayeringViolations() {
    }

    /** The core leaning on the PCI library. */
    static final class UsesPci {
        Object device() {
            return new PciIdentity(0x1af4, 0x1041, 1, 0x020000, 0x1af4, 0x1100);
        }
    }

    /** The core naming an ISA. */
    static final class UsesAnArchitecture {
        Object arch() {
            return new X86_64Architecture();
        }
    }
}
