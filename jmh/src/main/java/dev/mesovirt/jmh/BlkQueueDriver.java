package dev.mesovirt.jmh;

import static dev.mesovirt.vmm.virtio.VirtioIds.F_EVENT_IDX;
import static dev.mesovirt.vmm.virtio.VirtioIds.F_INDIRECT_DESC;
import static dev.mesovirt.vmm.virtio.VirtioIds.F_VERSION_1;
import static dev.mesovirt.vmm.virtio.VirtioIds.STATUS_ACKNOWLEDGE;
import static dev.mesovirt.vmm.virtio.VirtioIds.STATUS_DRIVER;
import static dev.mesovirt.vmm.virtio.VirtioIds.STATUS_DRIVER_OK;
import static dev.mesovirt.vmm.virtio.VirtioIds.STATUS_FEATURES_OK;

import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.virtio.Virtqueue;
import dev.mesovirt.vmm.virtio.VirtioException;
import java.nio.ByteBuffer;

/**
 * The guest driver's side of one virtio-blk split virtqueue, in guest RAM, shaped like Linux's virtio_blk +
 * virtio_ring: each request is a 16-byte header (device-readable), one data buffer (device-writable for a read,
 * device-readable for a write) and a 1-byte status (device-writable), either as three chained descriptors of the
 * main table ({@code indirect == false}) or as one descriptor pointing to a 3-entry indirect table (what Linux does
 * once VIRTIO_F_INDIRECT_DESC is negotiated). The descriptors, headers and indirect tables are written once;
 * {@link #post()} only makes the requests available again (ring entries + avail idx), so a benchmark can resubmit
 * the same batch cheaply.
 *
 * <p>Guest-physical layout from {@code base} (all page aligned): descriptor table, available ring, used ring,
 * indirect tables, request headers, status bytes, data buffers.
 */
public final class BlkQueueDriver {
    static final int T_IN = 0;
    static final int T_OUT = 1;
    /** Linux virtio_blk's feature set as far as this device offers it: SEG_MAX, FLUSH. */
    static final long BLK_FEATURES = (1L << 2) | (1L << 9);

    private final GuestMemory memory;
    private final int queueSize;
    private final int requests;
    private final boolean indirect;
    private final int blockBytes;
    /** Data buffers per request, each {@code blockBytes}, a block apart (Linux's pages are scattered too). */
    private final int segments;
    private final long desc;
    private final long avail;
    private final long used;
    private final long indirectTables;
    private final long headers;
    private final long statuses;
    private final long data;
    private final long end;
    private final ByteBuffer availView;
    private int availIdx;

    /**
     * Lays out {@code requests} requests of {@code blockBytes} each; request {@code i} addresses sector
     * {@code i * sectorStride} of the disk, reads when {@code write} is false.
     */
    public BlkQueueDriver(GuestMemory memory, long base, int queueSize, int requests, boolean indirect, boolean write,
            int blockBytes, long sectorStride) {
        this(memory, base, queueSize, requests, indirect, write, blockBytes, sectorStride, 1);
    }

    /**
     * As above with {@code segments} data buffers of {@code blockBytes} per request, each followed by an unused block
     * (so no two are adjacent in guest RAM); more than one needs indirect descriptors.
     */
    public BlkQueueDriver(GuestMemory memory, long base, int queueSize, int requests, boolean indirect, boolean write,
            int blockBytes, long sectorStride, int segments) {
        if (segments < 1 || (segments > 1 && !indirect)) {
            throw new IllegalArgumentException(segments + " data buffers per request" + (indirect ? "" : " need"
                    + " indirect descriptors"));
        }
        if (requests < 1 || requests > queueSize || (!indirect && 3 * requests > queueSize)) {
            throw new IllegalArgumentException(requests + " requests do not fit a queue of " + queueSize
                    + (indirect ? "" : " with 3 descriptors each"));
        }
        this.memory = memory;
        this.queueSize = queueSize;
        this.requests = requests;
        this.indirect = indirect;
        this.blockBytes = blockBytes;
        this.segments = segments;
        int entries = segments + 2;
        long at = align(base);
        desc = at;
        at = align(at + 16L * queueSize);
        avail = at;
        at = align(at + 6 + 2L * queueSize);
        used = at;
        at = align(at + 6 + 8L * queueSize);
        indirectTables = at;
        at = align(at + 16L * entries * requests);
        headers = at;
        at = align(at + 16L * requests);
        statuses = at;
        at = align(at + requests);
        data = at;
        end = align(at + (long) blockBytes * requests * (segments == 1 ? 1 : 2L * segments));
        if (!memory.contains(base, end - base)) {
            throw new IllegalArgumentException("the queue needs guest RAM up to 0x" + Long.toHexString(end));
        }
        memory.zero(base, end - base);
        for (int i = 0; i < requests; i++) {
            long header = headers + 16L * i;
            memory.writeInt(header, write ? T_OUT : T_IN);
            memory.writeInt(header + 4, 0);
            memory.writeLong(header + 8, i * sectorStride);
            long buffer = dataAddress(i);
            long status = statuses + i;
            int dataFlags = write ? 0 : Virtqueue.DESC_F_WRITE;
            if (indirect) {
                long table = indirectTables + 16L * entries * i;
                descriptor(table, 0, header, 16, Virtqueue.DESC_F_NEXT, 1);
                for (int k = 0; k < segments; k++) {
                    descriptor(table, 1 + k, buffer + 2L * blockBytes * k, blockBytes, dataFlags | Virtqueue.DESC_F_NEXT,
                            2 + k);
                }
                descriptor(table, 1 + segments, status, 1, Virtqueue.DESC_F_WRITE, 0);
                descriptor(desc, i, table, 16 * entries, Virtqueue.DESC_F_INDIRECT, 0);
            } else {
                int d = 3 * i;
                descriptor(desc, d, header, 16, Virtqueue.DESC_F_NEXT, d + 1);
                descriptor(desc, d + 1, buffer, blockBytes, dataFlags | Virtqueue.DESC_F_NEXT, d + 2);
                descriptor(desc, d + 2, status, 1, Virtqueue.DESC_F_WRITE, 0);
            }
        }
        availView = memory.slice(avail, 6 + 2 * queueSize);
    }

    private static long align(long a) {
        return (a + 4095) & ~4095L;
    }

    private void descriptor(long table, int index, long address, int length, int flags, int next) {
        long d = table + 16L * index;
        memory.writeLong(d, address);
        memory.writeInt(d + 8, length);
        memory.writeShort(d + 12, (short) flags);
        memory.writeShort(d + 14, (short) next);
    }

    /** Head descriptor of request {@code i}. */
    int head(int i) {
        return indirect ? i : 3 * i;
    }

    /**
     * Makes all requests available once more, as the driver would after reaping the previous batch: ring entries at
     * the current avail idx, then used_event = the used idx reached so far (one interrupt per batch with EVENT_IDX),
     * then the new avail idx.
     */
    public void post() {
        int idx = availIdx;
        for (int i = 0; i < requests; i++) {
            availView.putShort(4 + 2 * ((idx + i) & (queueSize - 1)), (short) head(i));
        }
        availView.putShort(4 + 2 * queueSize, (short) usedIdx());
        idx = (idx + requests) & 0xffff;
        availView.putShort(2, (short) idx);
        availIdx = idx;
    }

    /** The device's used idx. */
    public int usedIdx() {
        return memory.readShort(used + 2) & 0xffff;
    }

    /** The status byte the device wrote for request {@code i}. */
    public int status(int i) {
        return memory.readByte(statuses + i) & 0xff;
    }

    /** Guest address of request {@code i}'s data buffer. */
    public long dataAddress(int i) {
        return data + (long) blockBytes * i * (segments == 1 ? 1 : 2L * segments);
    }

    /** The first guest address after everything this driver uses. */
    public long end() {
        return end;
    }

    /** The features Linux's driver would accept from a virtio-blk device offering {@code deviceFeatures}. */
    static long driverFeatures(long deviceFeatures, boolean indirect) {
        long wanted = (1L << F_VERSION_1) | (1L << F_EVENT_IDX) | BLK_FEATURES | (indirect ? 1L << F_INDIRECT_DESC : 0);
        return deviceFeatures & wanted;
    }

    /**
     * The driver's initialisation of queue 0 through the virtio-mmio registers (virtio 1.2 section 4.2.3): reset,
     * ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue size and addresses, QueueReady, DRIVER_OK.
     */
    public void initialize(BusDevice transport) {
        writeReg(transport, 0x70, 0);
        writeReg(transport, 0x70, STATUS_ACKNOWLEDGE);
        writeReg(transport, 0x70, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
        writeReg(transport, 0x14, 0);
        long device = readReg(transport, 0x10) & 0xffffffffL;
        writeReg(transport, 0x14, 1);
        device |= (readReg(transport, 0x10) & 0xffffffffL) << 32;
        long features = driverFeatures(device, indirect);
        writeReg(transport, 0x24, 0);
        writeReg(transport, 0x20, (int) features);
        writeReg(transport, 0x24, 1);
        writeReg(transport, 0x20, (int) (features >>> 32));
        int status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
        writeReg(transport, 0x70, status);
        if ((readReg(transport, 0x70) & STATUS_FEATURES_OK) == 0) {
            throw new IllegalStateException("the device refused features 0x" + Long.toHexString(features));
        }
        writeReg(transport, 0x30, 0);
        if (readReg(transport, 0x34) < queueSize) {
            throw new IllegalStateException("the device's queue 0 is smaller than " + queueSize);
        }
        writeReg(transport, 0x38, queueSize);
        writeReg(transport, 0x80, (int) desc);
        writeReg(transport, 0x84, (int) (desc >>> 32));
        writeReg(transport, 0x90, (int) avail);
        writeReg(transport, 0x94, (int) (avail >>> 32));
        writeReg(transport, 0xa0, (int) used);
        writeReg(transport, 0xa4, (int) (used >>> 32));
        writeReg(transport, 0x44, 1);
        writeReg(transport, 0x70, status | STATUS_DRIVER_OK);
        if ((readReg(transport, 0x70) & STATUS_DRIVER_OK) == 0) {
            throw new IllegalStateException("the device did not go live: status 0x" + Integer.toHexString(readReg(transport, 0x70)));
        }
    }

    /** The same configuration written straight into a {@link Virtqueue}, for the parser-only path. */
    public void initialize(Virtqueue queue) throws VirtioException {
        queue.reset();
        queue.setSize(queueSize);
        queue.setDescTable(desc);
        queue.setAvailRing(avail);
        queue.setUsedRing(used);
        queue.setReady(true);
        queue.activate(memory, true, indirect);
    }

    private static void writeReg(BusDevice device, long offset, int value) {
        device.write(offset, new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)});
    }

    private static int readReg(BusDevice device, long offset) {
        byte[] b = new byte[4];
        device.read(offset, b);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }
}
