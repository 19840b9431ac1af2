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

    /**
     * Whether the controller takes message-signalled interrupts (PCI MSI and MSI-X) through KVM's GSI routing: then
     * {@link #defaultRoutes}, {@link #firstMsiGsi} and {@link #msiRoute} describe how.
     */
    default boolean supportsMsi() {
        return false;
    }

    /**
     * The routes KVM gives this controller's wired interrupts by default. KVM_SET_GSI_ROUTING replaces the whole
     * table, so a machine that adds MSI routes sends these along with them.
     */
    default java.util.List<dev.mesovirt.vmm.kvm.GsiRoute> defaultRoutes() {
        return java.util.List.of();
    }

    /** The first GSI that no wired interrupt uses, from which MSI routes are numbered. */
    default int firstMsiGsi() {
        throw new IllegalStateException(description() + " takes no MSIs");
    }

    /**
     * The route for an MSI message, as the device wrote it into its MSI or MSI-X capability: {@code address} and
     * {@code data}, with the requester's {@code deviceId} (bus, device, function) where the controller needs it
     * (arm64's ITS).
     */
    default dev.mesovirt.vmm.kvm.GsiRoute msiRoute(int gsi, long address, int data, int deviceId) {
        throw new IllegalStateException(description() + " takes no MSIs");
    }
}
