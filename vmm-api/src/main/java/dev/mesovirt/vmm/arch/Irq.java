package dev.mesovirt.vmm.arch;

/**
 * One guest interrupt, in the three numberings a VMM needs: {@code gsi} for KVM_IRQFD, {@code kvmLine} for
 * KVM_IRQ_LINE (arm64 encodes the interrupt type in it), and {@code firmwareNumber} for ACPI or the device tree.
 *
 * @param levelTriggered how the firmware tables declare the line: x86 virtio pins are level-triggered, arm64's
 *     virtio SPIs edge-triggered (an irqfd injects a pulse), the x86 ISA serial IRQ edge-triggered
 */
public record Irq(int gsi, int kvmLine, int firmwareNumber, boolean levelTriggered) {}
