package dev.mesovirt.vmm.event;

import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.virtio.NetDevice;

/** Event-loop classes that break the layering on purpose, for {@code LayeringFixturesTest}; never used. */
final class LayeringViolations {
    private LayeringViolations() {
    }

    /** The general loop leaning on a virtio device. */
    static final class UsesVirtio {
        int flags() {
            return NetDevice.tapFlags(-1);
        }
    }

    /** The general loop knowing the machine. */
    static final class KnowsTheMachine {
        Object state() {
            return RunState.RUNNING;
        }
    }

    /** What the loop may use: the libc bindings. */
    static final class UsesTheSysBindings {
        int fd(EventFd e) {
            return e.fd();
        }
    }
}
