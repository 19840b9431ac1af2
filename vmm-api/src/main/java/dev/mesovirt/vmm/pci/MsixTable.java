package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.Arrays;
import java.util.Optional;

/**
 * An MSI-X capability with its vector table and pending bit array (PCI 3.0 section 6.8.2), which live in a BAR:
 * {@link #region()} answers that BAR's accesses. Each vector has a mask bit; the capability has Function Mask and
 * MSI-X Enable. A vector signalled while masked sets its pending bit; unmasking it with the bit set sends the message
 * and clears the bit. Messages go through the machine's {@link MsiVector}s, allocated the first time a vector is
 * delivered and programmed whenever the guest changed its address or data since.
 *
 * <p>Thread-safe: the device signals from its own thread while vCPUs write the table and the capability.
 */
public final class MsixTable {
    public static final int CAPABILITY_ID = 0x11;
    public static final int CONTROL_ENABLE = 0x8000;
    public static final int CONTROL_FUNCTION_MASK = 0x4000;
    public static final int ENTRY_SIZE = 16;
    public static final int VECTOR_MASKED = 1;

    private final PciHeader header;
    private final int capability;
    private final int vectors;
    private final long tableOffset;
    private final long pbaOffset;
    /** The table as the guest sees it, 16 bytes a vector. */
    private final byte[] table;
    private final long[] pending;
    private final MsiVector[] routes;
    /** What each route was last programmed with: address, data (valid when routes[i] != null). */
    private final long[] programmedAddress;
    private final int[] programmedData;
    private final BusDevice region = new Region();

    /**
     * Adds the capability to {@code header}'s configuration space: {@code vectors} (1..2048) vectors, the table at
     * {@code tableOffset} and the pending bits at {@code pbaOffset} of BAR {@code bar} (offsets 8-byte aligned).
     */
    public MsixTable(PciHeader header, int vectors, int bar, long tableOffset, long pbaOffset) {
        if (vectors < 1 || vectors > 2048 || bar < 0 || bar > 5 || (tableOffset & 7) != 0 || (pbaOffset & 7) != 0) {
            throw new IllegalArgumentException("bad MSI-X layout: " + vectors + " vectors in BAR " + bar);
        }
        long tableEnd = tableOffset + (long) ENTRY_SIZE * vectors;
        long pbaEnd = pbaOffset + 8L * ((vectors + 63) / 64);
        if (tableOffset < pbaEnd && pbaOffset < tableEnd) {
            throw new IllegalArgumentException("the MSI-X table and pending bits overlap");
        }
        this.header = header;
        this.vectors = vectors;
        this.tableOffset = tableOffset;
        this.pbaOffset = pbaOffset;
        this.table = new byte[ENTRY_SIZE * vectors];
        this.pending = new long[(vectors + 63) / 64];
        this.routes = new MsiVector[vectors];
        this.programmedAddress = new long[vectors];
        this.programmedData = new int[vectors];
        ConfigSpace c = header.config();
        capability = c.addCapability(CAPABILITY_ID, 12);
        c.set16(capability + 2, vectors - 1);
        c.setWritable(capability + 2, 2, CONTROL_ENABLE | CONTROL_FUNCTION_MASK);
        c.set32(capability + 4, (int) tableOffset | bar);
        c.set32(capability + 8, (int) pbaOffset | bar);
        resetTable();
    }

    /** The capability's offset in configuration space. */
    public int capability() {
        return capability;
    }

    public int vectors() {
        return vectors;
    }

    /** The size the BAR holding the table and pending bits needs at least (a power of two, 4 KiB or more). */
    public static long barSize(int vectors) {
        long need = (long) ENTRY_SIZE * vectors + 8L * ((vectors + 63) / 64);
        return Math.max(4096, Long.highestOneBit(need - 1) << 1);
    }

    /** Accesses to the table and pending bits, at offsets from the start of their BAR. */
    public BusDevice region() {
        return region;
    }

    public boolean enabled() {
        return (header.config().get16(capability + 2) & CONTROL_ENABLE) != 0;
    }

    private boolean functionMasked() {
        return (header.config().get16(capability + 2) & CONTROL_FUNCTION_MASK) != 0;
    }

    /** Whether vector {@code v}'s own mask bit is set. */
    public synchronized boolean masked(int v) {
        return (table[v * ENTRY_SIZE + 12] & VECTOR_MASKED) != 0;
    }

    public synchronized boolean pending(int v) {
        return (pending[v >>> 6] & (1L << (v & 63))) != 0;
    }

    /**
     * The device wants vector {@code v}: sent when MSI-X is enabled, neither the function nor the vector is masked
     * and bus mastering is on; remembered as pending while masked; dropped while MSI-X is disabled or bus mastering
     * is off (a message write the function may not make), and for a vector the table does not have.
     */
    public synchronized void signal(int v) {
        if (v < 0 || v >= vectors || !enabled() || !header.busMaster()) {
            return;
        }
        if (functionMasked() || masked(v)) {
            pending[v >>> 6] |= 1L << (v & 63);
            return;
        }
        send(v);
    }

    private void send(int v) {
        MsiVector route = route(v);
        if (route != null) {
            route.signal();
        }
    }

    /** Vector {@code v}'s route, allocated and programmed with the table's message; null while unattached. */
    private MsiVector route(int v) {
        MsiVector route = routes[v];
        long address = address(v);
        int data = data(v);
        PciHeader.Attachment place = header.place();
        if (route == null) {
            if (place == null) {
                return null;
            }
            route = place.msiRouter().allocate(place.requesterId());
            routes[v] = route;
            route.program(address, data);
        } else if (programmedAddress[v] != address || programmedData[v] != data) {
            route.program(address, data);
        }
        programmedAddress[v] = address;
        programmedData[v] = data;
        return route;
    }

    /**
     * The eventfd that sends vector {@code v}'s message in the kernel (its route's irqfd, see
     * {@link MsiVector#irqfd()}), while the vector may deliver now (MSI-X enabled, neither the function nor the vector
     * masked, bus mastering on); empty otherwise, or when the machine's routes have none. Handing it to a back-end
     * bypasses the mask and pending bits, so the owner must take it back as soon as this answers otherwise: call
     * again after every change of the capability, the command register or the table.
     */
    public synchronized Optional<EventFd> irqfd(int v) {
        if (v < 0 || v >= vectors || !enabled() || functionMasked() || masked(v) || !header.busMaster()) {
            return Optional.empty();
        }
        MsiVector route = route(v);
        return route == null ? Optional.empty() : route.irqfd();
    }

    private long address(int v) {
        return (load(v * ENTRY_SIZE, 4) & 0xffffffffL) | (load(v * ENTRY_SIZE + 4, 4) & 0xffffffffL) << 32;
    }

    private int data(int v) {
        return load(v * ENTRY_SIZE + 8, 4);
    }

    private int load(int at, int size) {
        return PciRoot.load(table, at, size);
    }

    /**
     * The guest wrote configuration space at {@code offset}: if that touched the capability's control, vectors that
     * became deliverable send what is pending. Call after {@link PciHeader#writeConfig}.
     */
    public void configWritten(int offset, int size) {
        if (PciHeader.overlaps(offset, size, capability + 2, 2) || PciHeader.overlaps(offset, size, PciHeader.COMMAND,
                2)) {
            deliverPending();
        }
    }

    private synchronized void deliverPending() {
        for (int v = 0; v < vectors; v++) {
            deliverIfUnmasked(v);
        }
    }

    private void deliverIfUnmasked(int v) {
        if (!pending(v) || !enabled() || functionMasked() || masked(v) || !header.busMaster()) {
            return;
        }
        pending[v >>> 6] &= ~(1L << (v & 63));
        send(v);
    }

    /** Power-on: every vector masked, nothing pending, the machine's routes released. */
    public synchronized void reset() {
        resetTable();
        Arrays.fill(pending, 0);
        releaseRoutes();
    }

    /** Releases the machine's routes (the function is unplugged); they are allocated again when needed. */
    public synchronized void releaseRoutes() {
        for (int v = 0; v < vectors; v++) {
            if (routes[v] != null) {
                routes[v].close();
                routes[v] = null;
            }
        }
    }

    private void resetTable() {
        Arrays.fill(table, (byte) 0);
        for (int v = 0; v < vectors; v++) {
            table[v * ENTRY_SIZE + 12] = VECTOR_MASKED;
        }
    }

    private synchronized void readRegion(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            int b = 0;
            if (at >= tableOffset && at < tableOffset + table.length) {
                b = table[(int) (at - tableOffset)] & 0xff;
            } else if (at >= pbaOffset && at < pbaOffset + 8L * pending.length) {
                int byteIndex = (int) (at - pbaOffset);
                b = (int) (pending[byteIndex >>> 3] >>> (8 * (byteIndex & 7))) & 0xff;
            }
            data[i] = (byte) b;
        }
    }

    private synchronized void writeRegion(long offset, byte[] data) {
        int first = Integer.MAX_VALUE;
        int last = -1;
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            if (at < tableOffset || at >= tableOffset + table.length) {
                continue; // the pending bits are read-only
            }
            int index = (int) (at - tableOffset);
            if ((index & 15) >= 13) {
                continue; // reserved bits of Vector Control
            }
            table[index] = (index & 15) == 12 ? (byte) (data[i] & VECTOR_MASKED) : data[i];
            first = Math.min(first, index >>> 4);
            last = Math.max(last, index >>> 4);
        }
        for (int v = first; v <= last; v++) {
            if (routes[v] != null && !masked(v) && !functionMasked() && enabled()
                    && (programmedAddress[v] != address(v) || programmedData[v] != data(v))) {
                // The guest changed an unmasked vector's message: follow it at once.
                programmedAddress[v] = address(v);
                programmedData[v] = data(v);
                routes[v].program(programmedAddress[v], programmedData[v]);
            }
            deliverIfUnmasked(v);
        }
    }

    private final class Region implements BusDevice {
        @Override
        public void read(long offset, byte[] data) {
            readRegion(offset, data);
        }

        @Override
        public void write(long offset, byte[] data) {
            writeRegion(offset, data);
        }
    }
}
