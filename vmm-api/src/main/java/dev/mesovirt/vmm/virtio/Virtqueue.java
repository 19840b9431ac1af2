package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A split virtqueue (virtio 1.x, section 2.7) seen from the device: the driver's descriptor table, available ring
 * and used ring in guest RAM. The driver controls every byte of them, so every index, length and address is
 * validated before use and every access goes through {@link GuestMemory} only after the range was checked to lie in
 * guest RAM: a malformed queue or chain is a {@link VirtioException}, never another exception, never an access
 * outside RAM, never an unbounded loop (a chain may not be longer than the queue or indirect table).
 *
 * <p>Configuration (size, addresses, ready) is written by the transport from vCPU threads; {@link #pop} and
 * {@link #addUsed} run on the device's thread once the device is live.
 */
public final class Virtqueue {
    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int USED_F_NO_NOTIFY = 1;
    /** The largest indirect table we accept (the spec bounds a chain by the table's 16-bit indices). */
    static final int MAX_INDIRECT = 1024;

    private final int maxSize;
    private int size;
    private boolean ready;
    private long descTable;
    private long availRing;
    private long usedRing;
    private boolean eventIdx;
    private boolean indirect;

    private GuestMemory memory;
    private int lastAvail;
    private int nextUsed;
    /** used idx value at the last interrupt decision, for VIRTIO_F_EVENT_IDX. */
    private int signalledUsed;
    private boolean signalledValid;

    public Virtqueue(int maxSize) {
        if (maxSize < 1 || maxSize > 32768 || Integer.bitCount(maxSize) != 1) {
            throw new IllegalArgumentException("queue size must be a power of 2 up to 32768: " + maxSize);
        }
        this.maxSize = maxSize;
        this.size = maxSize;
    }

    public int maxSize() {
        return maxSize;
    }

    public int size() {
        return size;
    }

    public void setSize(int n) {
        size = n;
    }

    public boolean ready() {
        return ready;
    }

    public void setReady(boolean r) {
        ready = r;
    }

    public long descTable() {
        return descTable;
    }

    public long availRing() {
        return availRing;
    }

    public long usedRing() {
        return usedRing;
    }

    public void setDescTable(long a) {
        descTable = a;
    }

    public void setAvailRing(long a) {
        availRing = a;
    }

    public void setUsedRing(long a) {
        usedRing = a;
    }

    /** Back to the state after a device reset. */
    public void reset() {
        size = maxSize;
        ready = false;
        descTable = availRing = usedRing = 0;
        memory = null;
        lastAvail = nextUsed = signalledUsed = 0;
        signalledValid = false;
    }

    /**
     * Checks the configuration the driver wrote and makes the queue live: size a power of two up to the maximum,
     * rings aligned (16/2/4) and entirely inside guest RAM.
     */
    public void activate(GuestMemory mem, boolean eventIdxFeature, boolean indirectFeature) throws VirtioException {
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) {
            throw new VirtioException("queue size " + size + " is not a power of 2 in 1.." + maxSize);
        }
        if ((descTable & 15) != 0 || (availRing & 1) != 0 || (usedRing & 3) != 0) {
            throw new VirtioException("misaligned queue areas");
        }
        if (!mem.contains(descTable, 16L * size) || !mem.contains(availRing, 6 + 2L * size)
                || !mem.contains(usedRing, 6 + 8L * size)) {
            throw new VirtioException("queue areas outside guest RAM");
        }
        memory = mem;
        eventIdx = eventIdxFeature;
        indirect = indirectFeature;
        lastAvail = nextUsed = signalledUsed = 0;
        signalledValid = false;
    }

    public boolean isLive() {
        return memory != null;
    }

    /** The queue's configuration and its place in the rings, for a snapshot. */
    public void saveState(dev.mesovirt.vmm.snapshot.StateWriter w) {
        w.u16(size).bool(ready).u64(descTable).u64(availRing).u64(usedRing).bool(memory != null).bool(eventIdx)
                .bool(indirect).u16(lastAvail).u16(nextUsed).u16(signalledUsed).bool(signalledValid);
    }

    /**
     * Gives back what {@link #saveState} took; a live queue is checked as {@link #activate} checks it (size, ring
     * alignment, rings inside {@code mem}), and goes on from the saved ring indices.
     */
    public void restoreState(dev.mesovirt.vmm.snapshot.StateReader r, GuestMemory mem) {
        reset();
        int n = r.u16();
        boolean rdy = r.bool();
        long desc = r.u64();
        long avail = r.u64();
        long used = r.u64();
        boolean live = r.bool();
        boolean ev = r.bool();
        boolean ind = r.bool();
        int last = r.u16();
        int next = r.u16();
        int signalled = r.u16();
        boolean valid = r.bool();
        if (n < 1 || n > maxSize) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: a queue of size " + n + " where the device's"
                    + " maximum is " + maxSize);
        }
        size = n;
        ready = rdy;
        descTable = desc;
        availRing = avail;
        usedRing = used;
        if (live) {
            try {
                activate(mem, ev, ind);
            } catch (VirtioException e) {
                throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: a live queue: " + e.getMessage());
            }
            lastAvail = last;
            nextUsed = next;
            signalledUsed = signalled;
            signalledValid = valid;
        }
    }

    private int availIdx() {
        return memory.readShort(availRing + 2) & 0xffff;
    }

    /** Whether the driver has made chains available that we have not popped yet. */
    public boolean hasAvailable() throws VirtioException {
        int pending = (availIdx() - lastAvail) & 0xffff;
        if (pending > size) {
            throw new VirtioException("available index moved " + pending + " past a queue of " + size);
        }
        return pending != 0;
    }

    /** The next available chain, validated; null when the ring is empty. */
    public DescriptorChain pop() throws VirtioException {
        if (memory == null) {
            return null;
        }
        if (!hasAvailable()) {
            if (eventIdx) {
                // Ask for a notification when the driver adds the next one, then look once more (the driver may
                // have added one after our read and before seeing the new avail_event).
                memory.writeShort(usedRing + 4 + 8L * size, (short) lastAvail);
                VarHandle.fullFence();
                if (!hasAvailable()) {
                    return null;
                }
            } else {
                return null;
            }
        }
        VarHandle.acquireFence();
        int head = memory.readShort(availRing + 4 + 2L * (lastAvail % size)) & 0xffff;
        lastAvail = (lastAvail + 1) & 0xffff;
        if (eventIdx) {
            memory.writeShort(usedRing + 4 + 8L * size, (short) lastAvail);
        }
        return parseChain(head);
    }

    private DescriptorChain parseChain(int head) throws VirtioException {
        if (head >= size) {
            throw new VirtioException("head descriptor " + head + " out of range 0.." + (size - 1));
        }
        List<DescriptorChain.Segment> readable = new ArrayList<>(2);
        List<DescriptorChain.Segment> writable = new ArrayList<>(2);
        long table = descTable;
        int tableSize = size;
        boolean inIndirect = false;
        int index = head;
        int seen = 0;
        while (true) {
            if (++seen > tableSize) {
                throw new VirtioException("descriptor chain longer than its table (" + tableSize + "): a loop?");
            }
            long d = table + 16L * index;
            long addr = memory.readLong(d);
            int len = memory.readInt(d + 8);
            int flags = memory.readShort(d + 12) & 0xffff;
            int next = memory.readShort(d + 14) & 0xffff;
            if ((flags & DESC_F_INDIRECT) != 0) {
                if (!indirect) {
                    throw new VirtioException("indirect descriptor without VIRTIO_F_INDIRECT_DESC");
                }
                if (inIndirect) {
                    throw new VirtioException("nested indirect descriptor table");
                }
                if ((flags & DESC_F_NEXT) != 0) {
                    throw new VirtioException("indirect descriptor with NEXT set");
                }
                long tableLen = len & 0xffffffffL;
                if (tableLen == 0 || tableLen % 16 != 0 || tableLen / 16 > MAX_INDIRECT) {
                    throw new VirtioException("indirect table length " + tableLen + " invalid");
                }
                if (!memory.contains(addr, tableLen)) {
                    throw new VirtioException("indirect table outside guest RAM");
                }
                if (!readable.isEmpty() || !writable.isEmpty()) {
                    throw new VirtioException("indirect descriptor after direct ones");
                }
                table = addr;
                tableSize = (int) (tableLen / 16);
                inIndirect = true;
                index = 0;
                seen = 0;
                continue;
            }
            long length = len & 0xffffffffL;
            if (!memory.contains(addr, length)) {
                throw new VirtioException("buffer 0x" + Long.toHexString(addr) + "+" + length + " outside guest RAM");
            }
            if (length > 0) {
                if ((flags & DESC_F_WRITE) != 0) {
                    writable.add(new DescriptorChain.Segment(addr, len));
                } else {
                    if (!writable.isEmpty()) {
                        throw new VirtioException("device-readable buffer after a device-writable one");
                    }
                    readable.add(new DescriptorChain.Segment(addr, len));
                }
            }
            if ((flags & DESC_F_NEXT) == 0) {
                break;
            }
            if (next >= tableSize) {
                throw new VirtioException("next descriptor " + next + " out of range 0.." + (tableSize - 1));
            }
            index = next;
        }
        return new DescriptorChain(head, List.copyOf(readable), List.copyOf(writable));
    }

    /** What a device does with one popped chain: the bytes it wrote into the chain's device-writable buffers. */
    @FunctionalInterface
    public interface ChainHandler {
        int handle(DescriptorChain chain) throws VirtioException;
    }

    /**
     * Pops every available chain, hands it to {@code handler} and returns it to the driver as used. At most 65536
     * chains a call, so a driver that refills the ring as fast as it is drained cannot hold the device's thread for
     * ever (its next notification brings the thread back). Returns whether any chain was used: the caller then raises
     * the queue's interrupt once.
     */
    public boolean serveAvailable(ChainHandler handler) throws VirtioException {
        boolean any = false;
        for (int n = 0; n < 65536; n++) {
            DescriptorChain chain = pop();
            if (chain == null) {
                break;
            }
            addUsed(chain.head(), handler.handle(chain));
            any = true;
        }
        return any;
    }

    /** Returns a chain to the driver with {@code written} bytes written into its device-writable buffers. */
    public void addUsed(int head, int written) {
        long elem = usedRing + 4 + 8L * (nextUsed % size);
        memory.writeInt(elem, head);
        memory.writeInt(elem + 4, written);
        nextUsed = (nextUsed + 1) & 0xffff;
        VarHandle.releaseFence();
        memory.writeShort(usedRing + 2, (short) nextUsed);
        VarHandle.fullFence();
    }

    /**
     * Whether the driver wants an interrupt for the used buffers added since the last call: with
     * VIRTIO_F_EVENT_IDX when used_event lies in the range just added, otherwise unless it set NO_INTERRUPT.
     */
    public boolean needsInterrupt() {
        if (memory == null) {
            return false;
        }
        VarHandle.fullFence();
        if (eventIdx) {
            int old = signalledUsed;
            boolean valid = signalledValid;
            signalledUsed = nextUsed;
            signalledValid = true;
            if (!valid) {
                return true;
            }
            int usedEvent = memory.readShort(availRing + 4 + 2L * size) & 0xffff;
            return ((nextUsed - usedEvent - 1) & 0xffff) < ((nextUsed - old) & 0xffff);
        }
        return (memory.readShort(availRing) & AVAIL_F_NO_INTERRUPT) == 0;
    }
}
