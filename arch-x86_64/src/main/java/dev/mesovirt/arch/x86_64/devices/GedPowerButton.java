package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.arch.x86_64.acpi.AcpiTables;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.PowerButton;
import dev.mesovirt.vmm.device.IrqLine;
import java.util.Arrays;
import java.util.Objects;

/**
 * The x86_64 microVM's power button: an ACPI Generic Event Device (ACPI0013) in the manner of QEMU's
 * {@code acpi-ged}, with one event. Its window is a single 32-bit, read-only event selector at offset 0:
 * {@link #press} sets {@link AcpiTables#GED_POWER_BUTTON_EVENT} in it and raises the interrupt; the DSDT's
 * {@code _EVT} reads it, which returns the pending events and clears them, then notifies the PNP0C0C power button.
 *
 * <p>The interrupt is level-triggered, as the DSDT declares it: high exactly while an event is pending. So an event
 * that arrives while the guest has the line masked (during its handler, or before the evged driver binds) is
 * delivered when the line is unmasked instead of being lost, as an edge on a masked IOAPIC pin would be.
 *
 * <p>Only a 4-byte read at offset 0 (the DSDT's DWordAcc field) reads the selector; other reads return zeros and
 * change nothing, and writes are ignored. Thread safety: {@link #press} comes from the QMP thread, reads from vCPU
 * threads, {@link #reset} from the machine; the selector and the line are changed together under the instance
 * monitor, so the line always ends at the level of the last change.
 */
public final class GedPowerButton implements PowerButton {
    /** The window: the selector register only. */
    public static final int LENGTH = 4;
    public static final int SELECTOR_OFFSET = 0;

    private final Irq irq;
    private final IrqLine line;

    // Guarded by this.
    private int pending;

    /**
     * @param irq  the interrupt announced in the DSDT; must be level-triggered
     * @param line drives it (KVM_IRQ_LINE)
     */
    public GedPowerButton(Irq irq, IrqLine line) {
        this.irq = Objects.requireNonNull(irq, "irq");
        this.line = Objects.requireNonNull(line, "line");
        if (!irq.levelTriggered()) {
            throw new IllegalArgumentException("the GED holds its interrupt while events are pending: " + irq
                    + " must be level-triggered");
        }
    }

    @Override
    public Irq irq() {
        return irq;
    }

    @Override
    public synchronized void press() {
        raise(AcpiTables.GED_POWER_BUTTON_EVENT);
    }

    @Override
    public synchronized void reset() {
        if (pending != 0) {
            pending = 0;
            line.set(false);
        }
    }

    /** The events set and not yet read by the guest. */
    synchronized int pendingEvents() {
        return pending;
    }

    @Override
    public void read(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
        if (offset != SELECTOR_OFFSET || data.length != 4) {
            return;
        }
        int events = takeEvents();
        for (int i = 0; i < 4; i++) {
            data[i] = (byte) (events >>> (8 * i));
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        // The selector is read-only (the DSDT's field is WriteAsZeros and never written).
    }

    private synchronized void raise(int event) {
        boolean wasIdle = pending == 0;
        pending |= event;
        if (wasIdle) {
            line.set(true);
        }
    }

    private synchronized int takeEvents() {
        int events = pending;
        if (events != 0) {
            pending = 0;
            line.set(false);
        }
        return events;
    }
}
