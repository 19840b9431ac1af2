package dev.mesovirt.vmm.pci;

/**
 * A plain MSI capability (PCI 3.0 section 6.8.1) with one vector and a 64-bit message address, optionally with
 * per-vector masking (mask and pending bits). A message signalled while masked is remembered in the pending bit and
 * sent when the guest unmasks the vector; one signalled while MSI is disabled is dropped (the function then
 * interrupts through INTx, which is its own business).
 *
 * <p>Thread-safe: the function signals from any thread while vCPUs write the capability.
 */
public final class MsiCapability {
    public static final int CAPABILITY_ID = 0x05;
    public static final int CONTROL_ENABLE = 0x1;
    public static final int CONTROL_64BIT = 0x80;
    public static final int CONTROL_PER_VECTOR_MASK = 0x100;

    private final PciHeader header;
    private final int capability;
    private final boolean maskable;
    private MsiVector route;
    private long programmedAddress;
    private int programmedData;

    public MsiCapability(PciHeader header, boolean maskable) {
        this.header = header;
        this.maskable = maskable;
        ConfigSpace c = header.config();
        capability = c.addCapability(CAPABILITY_ID, maskable ? 0x18 : 0x0e);
        c.set16(capability + 2, CONTROL_64BIT | (maskable ? CONTROL_PER_VECTOR_MASK : 0));
        // One vector: Multiple Message Enable stays 0.
        c.setWritable(capability + 2, 2, CONTROL_ENABLE);
        c.setWritable(capability + 4, 4, 0xffff_fffc);
        c.setWritable(capability + 8, 4, 0xffff_ffff);
        c.setWritable(capability + 0xc, 2, 0xffff);
        if (maskable) {
            c.setWritable(capability + 0x10, 4, 1);
        }
    }

    public int capability() {
        return capability;
    }

    public boolean enabled() {
        return (header.config().get16(capability + 2) & CONTROL_ENABLE) != 0;
    }

    private boolean masked() {
        return maskable && (header.config().get32(capability + 0x10) & 1) != 0;
    }

    public boolean pending() {
        return maskable && (header.config().get32(capability + 0x14) & 1) != 0;
    }

    /** Sends the message, or marks it pending while masked; dropped while disabled or without bus mastering. */
    public synchronized void signal() {
        if (!enabled() || !header.busMaster()) {
            return;
        }
        if (masked()) {
            header.config().update(capability + 0x14, 4, 0, 1);
            return;
        }
        send();
    }

    private void send() {
        ConfigSpace c = header.config();
        long address = (c.get32(capability + 4) & 0xffffffffL) | (c.get32(capability + 8) & 0xffffffffL) << 32;
        int data = c.get16(capability + 0xc);
        PciHeader.Attachment place = header.place();
        if (route == null) {
            if (place == null) {
                return;
            }
            route = place.msiRouter().allocate(place.requesterId());
            route.program(address, data);
        } else if (address != programmedAddress || data != programmedData) {
            route.program(address, data);
        }
        programmedAddress = address;
        programmedData = data;
        route.signal();
    }

    /** Call after the guest wrote configuration space: an unmasked pending message is sent. */
    public synchronized void configWritten(int offset, int size) {
        if (!PciHeader.overlaps(offset, size, capability, 0x18) && !PciHeader.overlaps(offset, size,
                PciHeader.COMMAND, 2)) {
            return;
        }
        if (pending() && enabled() && !masked() && header.busMaster()) {
            header.config().update(capability + 0x14, 4, 1, 0);
            send();
        }
    }

    /** Power-on: releases the machine's route (configuration registers are reset with the header). */
    public synchronized void reset() {
        if (route != null) {
            route.close();
            route = null;
        }
    }
}
