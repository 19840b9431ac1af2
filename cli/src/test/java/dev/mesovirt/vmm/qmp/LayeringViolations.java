package dev.mesovirt.vmm.qmp;

import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.pci.PciIdentity;

/** QMP protocol classes that break the layering on purpose, for {@code LayeringFixturesTest}; never used. */
final class LayeringViolations {
    private LayeringViolations() {
    }

    /** The protocol layer leaning on the PCI library. */
    static final class UsesPci {
        Object device() {
            return new PciIdentity(0x1af4, 0x1041, 1, 0x020000, 0x1af4, 0x1100);
        }
    }

    /** The protocol layer knowing a machine. */
    static final class KnowsTheMachine {
        Object state() {
            return RunState.RUNNING;
        }
    }
}
