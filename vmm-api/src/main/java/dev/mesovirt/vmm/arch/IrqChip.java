package dev.mesovirt.vmm.arch;

/** The in-kernel interrupt controller: x86 PIC+IOAPIC+LAPIC, arm64 vGICv3, riscv64 AIA (APLIC + IMSICs). */
public interface IrqChip {
    /** Allocates the next interrupt for a device; throws when the controller has no line left. */
    Irq allocate(IrqUse use);

    /** Completes set-up that needs every vCPU to exist (the vGIC's and the AIA's CTRL_INIT). */
    void finishAfterVcpus();

    /** A short description for logs, e.g. "KVM IRQCHIP (PIC, IOAPIC, LAPIC) + PIT". */
    String description();
}
