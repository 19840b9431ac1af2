package dev.mesovirt.vmm.arch;

/** The in-kernel interrupt controller: x86 PIC+IOAPIC+LAPIC, arm64 vGICv3, riscv64 AIA (APLIC + IMSICs). */
public interface IrqChip {
    /** Allocates the next interrupt for a device; throws when the controller has no line left. */
    Irq allocate(IrqUse use);

    /** Completes set-up that needs every vCPU to exist (the vGIC's and the AIA's CTRL_INIT). */
    void finishAfterVcpus();

    /**
     * Whether an irqfd on an edge-triggered line gives one edge per signal. True where KVM injects an irqfd as
     * assert-then-deassert (arm64's vGIC). riscv64's KVM asserts the APLIC source from the irqfd's atomic path and
     * never lowers it, so a second signal finds the input still high and makes no edge: there the machine pulses
     * the line with KVM_IRQ_LINE instead.
     */
    default boolean irqfdPulsesEdges() {
        return true;
    }

    /** A short description for logs, e.g. "KVM IRQCHIP (PIC, IOAPIC, LAPIC) + PIT". */
    String description();
}
