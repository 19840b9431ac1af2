package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.sys.EventFd;
import java.util.Optional;

/**
 * One MSI or MSI-X vector as the machine delivers it. {@link #program} comes before the first {@link #signal} and
 * whenever the guest changed the message since; {@link #signal} only while the guest allows delivery (enabled,
 * unmasked, bus master on): the capability keeps masked messages pending itself. Both may be called from any thread.
 */
public interface MsiVector extends AutoCloseable {
    /** The guest's message: the address to write and the data to write there. */
    void program(long address, int data);

    /** Sends the message (an irqfd write). */
    void signal();

    /**
     * The eventfd whose write sends this vector's message without the VMM (a KVM irqfd), for a back-end that signals
     * interrupts itself (vhost); empty when delivery needs the VMM. Valid while the vector is open and programmed.
     */
    default Optional<EventFd> irqfd() {
        return Optional.empty();
    }

    /** Releases the route; the vector is not used again. */
    @Override
    void close();
}
