package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.sys.EventFd;

/**
 * Registers ioeventfds: a guest write of {@code length} bytes to MMIO {@code address} signals the eventfd in the
 * kernel, without a VM exit to user space. The machine implements it over {@code Vm.registerIoeventfd} (no data
 * match); tests record the calls.
 */
public interface IoEventRegistrar {
    void register(EventFd eventFd, long address, int length);

    void unregister(EventFd eventFd, long address, int length);
}
