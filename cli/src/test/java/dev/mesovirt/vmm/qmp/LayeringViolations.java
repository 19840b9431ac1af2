package dev.mesovirt.vmm.qmp;

import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.pci.PciRoot;

/** QMP protocol classes that break the layering on purpose, for {@code LayeringFixturesTest}; never used. */
final class LayeringViolations {
    private LayeringViolations() {
    }

    /** The protocol layer leaning on the PCI library. */
    static final class UsesPci {
        Object device() {
            return PciRoot.HOST_BRIDGE;
        }
    }

    /** The protocol layer knowing a machine. */
    static final class KnowsTheMachine {
        Object state() {
            return RunState.RUNNING;
        }
    }
}
