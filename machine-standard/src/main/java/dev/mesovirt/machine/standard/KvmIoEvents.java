package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.virtio.IoEventRegistrar;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The virtio-pci queue-notify ioeventfds on the current VM (MMIO, no data match: each queue has an address of its
 * own). It remembers what is registered, so that a machine reset can register it all again on the new VM.
 */
final class KvmIoEvents implements IoEventRegistrar {
    private record Registration(EventFd eventFd, long address, int length) {}

    private final Set<Registration> registered = new LinkedHashSet<>();
    private Vm vm;

    KvmIoEvents(Vm vm) {
        this.vm = vm;
    }

    @Override
    public synchronized void register(EventFd eventFd, long address, int length) {
        if (registered.add(new Registration(eventFd, address, length))) {
            vm.registerIoeventfd(eventFd, address, length, false, null);
        }
    }

    @Override
    public synchronized void unregister(EventFd eventFd, long address, int length) {
        if (registered.remove(new Registration(eventFd, address, length))) {
            vm.unregisterIoeventfd(eventFd, address, length, false, null);
        }
    }

    /** Machine reset: the old VM took its ioeventfds with it; register them on {@code newVm}. */
    synchronized void moveTo(Vm newVm) {
        vm = newVm;
        for (Registration r : registered) {
            vm.registerIoeventfd(r.eventFd(), r.address(), r.length(), false, null);
        }
    }
}
