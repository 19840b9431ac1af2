package dev.mesovirt.vmm.arch;

/**
 * One guest interrupt, in the three numberings a VMM needs: {@code gsi} for KVM_IRQFD, {@code kvmLine} for
 * KVM_IRQ_LINE (arm64 encodes the interrupt type in it), and {@code firmwareNumber} for ACPI or the device tree.
 *
 * @param levelTriggered true for level-triggered lines (virtio), false for edge (ISA serial)
 */
public record Irq(int gsi, int kvmLine, int firmwareNumber, boolean levelTriggered) {}
