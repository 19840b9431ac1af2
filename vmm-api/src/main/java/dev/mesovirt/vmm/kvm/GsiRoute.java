package dev.mesovirt.vmm.kvm;

import java.util.OptionalInt;

/** One entry of KVM's GSI routing table ({@code struct kvm_irq_routing_entry}), which {@link Vm#setGsiRouting} sets. */
public sealed interface GsiRoute {
    /** The GSI an irqfd or KVM_IRQ_LINE names. */
    int gsi();

    /** KVM_IRQ_ROUTING_IRQCHIP: a pin of an in-kernel interrupt controller (x86: 0 master PIC, 1 slave PIC, 2 IOAPIC). */
    record IrqchipPin(int gsi, int irqchip, int pin) implements GsiRoute {}

    /**
     * KVM_IRQ_ROUTING_MSI: a message-signalled interrupt; {@code deviceId} (KVM_MSI_VALID_DEVID) where the interrupt
     * controller needs the requester's ID (arm64's ITS).
     */
    record Msi(int gsi, long address, int data, OptionalInt deviceId) implements GsiRoute {}
}
