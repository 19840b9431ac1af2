package dev.mesovirt.vmm.pci;

/**
 * Gives functions their message-signalled interrupt vectors; the machine implements it over KVM's GSI routing (an
 * MSI route per vector) and irqfds.
 */
public interface MsiRouter {
    /**
     * A new vector for the function with requester ID {@code requesterId} (bus << 8 | device << 3 | function), which
     * interrupt controllers that identify the requester (arm64's ITS) need.
     */
    MsiVector allocate(int requesterId);
}
