package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * virtio-blk (virtio 1.2 section 5.2) over a raw image file or a host block device: read, write, flush and get-id.
 * Data moves between the file and guest RAM with no copy, a request's scattered buffers in one preadv/pwritev on
 * views of guest memory (FileChannel's positional I/O would take a system call per buffer), except with O_DIRECT, which needs aligned buffers and goes through an aligned bounce buffer. A flush is an
 * fdatasync ({@code FileChannel.force(false)}) completed before the request is returned to the guest, unless the
 * drive was added with QEMU's {@code cache.no-flush} (then flushes succeed without one, as QEMU's do).
 */
public final class BlockDevice implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(BlockDevice.class);
    public static final int QUEUE_SIZE = 256;
    public static final int SECTOR = 512;
    static final int F_SEG_MAX = 2;
    static final int F_RO = 5;
    static final int F_BLK_SIZE = 6;
    static final int F_FLUSH = 9;
    static final int F_TOPOLOGY = 10;
    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;
    static final byte S_OK = 0;
    static final byte S_IOERR = 1;
    static final byte S_UNSUPP = 2;
    static final int ID_BYTES = 20;
    /** BLKSSZGET, _IO(0x12, 104) in linux/fs.h: a block device's logical sector size (an int). */
    public static final long BLKSSZGET = dev.mesovirt.vmm.sys.Ioctls.io(0x12, 104);
    /** The largest O_DIRECT transfer (a request the guest splits by seg_max stays far below it). */
    static final long MAX_DIRECT_SPAN = 64L << 20;
    /** virtio_blk_config up to and including its topology (virtio 1.2 5.2.4). */
    static final int CONFIG_SIZE = 32;
    /** S_IFMT and S_IFBLK of sys/stat.h: the "unix:mode" of a block device. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private final String id;
    private final FileChannel file;
    /** A second descriptor of the image for vectored I/O, or -1 (O_DIRECT, no medium). */
    private final int vectorFd;
    /** The iovecs of the request being served: requests are served one at a time, on the device's thread. */
    private final dev.mesovirt.vmm.sys.IoVector vector;
    private boolean closed;
    private final boolean readOnly;
    private final boolean direct;
    private final boolean noFlush;
    /**
     * What the O_DIRECT channel takes buffers, offsets and lengths aligned to (SECTOR without O_DIRECT): the JDK asks
     * for the file system's fundamental block size (statvfs f_frsize, 4 KiB on devtmpfs for a block device), which
     * may exceed what the guest is told; requests the guest aligns only to its sectors are widened (read-modify-write).
     */
    private final int alignment;
    /** The logical sector size the guest is told (F_BLK_SIZE). */
    private final int blockSize;
    /** The image's size in bytes, at open. */
    private final long sizeBytes;
    private final boolean topology;
    private final long capacitySectors;
    private final byte[] serial;
    private final byte[] config;
    private GuestMemory memory;
    private List<Virtqueue> queues = List.of();
    private QueueInterrupt interrupt;

    /**
     * Opens the image. Throws IOException with a message fit for the user (the caller prefixes the drive).
     *
     * @param serial the get-id answer (at most 20 bytes are used); null: the drive id
     */
    public BlockDevice(String id, Path path, boolean readOnly, boolean direct, String serial) throws IOException {
        this(id, path, readOnly, direct, false, BlockSizes.DEFAULT, serial);
    }

    /**
     * Opens the image (a regular file, or a block device), with QEMU's cache.no-flush and the sector sizes the guest
     * is told. Throws IOException with a message fit for the user (the caller prefixes the drive).
     *
     * @param noFlush whether the guest's flushes skip the fdatasync (QEMU's cache.no-flush=on)
     * @param sizes   the logical and physical sector sizes (0: the defaults: 512 bytes, or with O_DIRECT a block
     *                device's own sector size and a file system's block size)
     * @param serial  the get-id answer (at most 20 bytes are used); null: the drive id
     */
    public BlockDevice(String id, Path path, boolean readOnly, boolean direct, boolean noFlush, BlockSizes sizes,
            String serial) throws IOException {
        this.id = id;
        this.readOnly = readOnly;
        this.direct = direct;
        this.noFlush = noFlush;
        List<OpenOption> options = new ArrayList<>();
        options.add(StandardOpenOption.READ);
        if (!readOnly) {
            options.add(StandardOpenOption.WRITE);
        }
        if (direct) {
            options.add(com.sun.nio.file.ExtendedOpenOption.DIRECT);
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(path, options.toArray(new OpenOption[0]));
        } catch (UnsupportedOperationException e) {
            throw new IOException("direct=on is not supported here (" + e.getMessage() + ")");
        }
        try {
            this.alignment = direct ? directAlignment(path) : SECTOR;
            int logical = sizes.logical() != 0 ? sizes.logical() : direct ? nativeSector(path, alignment) : SECTOR;
            if (sizes.physical() != 0 && sizes.physical() < logical) {
                throw new IOException("physical_block_size " + sizes.physical() + " is below the logical sector size "
                        + logical);
            }
            this.blockSize = logical;
            this.topology = sizes.physical() != 0;
            // FileChannel.size() is BLKGETSIZE64 on a block device (the JDK asks the kernel), st_size on a file.
            this.sizeBytes = ch.size();
            this.capacitySectors = sizeBytes / SECTOR;
            this.vectorFd = direct ? -1 : openForVectors(path, readOnly);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        this.vector = vectorFd < 0 ? null : new dev.mesovirt.vmm.sys.IoVector();
        this.file = ch;
        byte[] s = (serial == null ? id : serial).getBytes(StandardCharsets.US_ASCII);
        this.serial = java.util.Arrays.copyOf(s, Math.min(s.length, ID_BYTES));
        this.config = configSpace(capacitySectors, blockSize, topology ? sizes.physical() : 0);
    }

    /** A drive with no medium: no sectors, no serial; reads and writes fail (IOERR), flushes succeed. */
    private BlockDevice(String id) {
        this.id = id;
        this.file = null;
        this.vectorFd = -1;
        this.vector = null;
        this.readOnly = true;
        this.direct = false;
        this.noFlush = true;
        this.alignment = SECTOR;
        this.blockSize = SECTOR;
        this.sizeBytes = 0;
        this.topology = false;
        this.capacitySectors = 0;
        this.serial = new byte[0];
        this.config = configSpace(0, SECTOR, 0);
    }

    /**
     * An empty disk drive: what a {@link ReplaceableBlockDevice} holds without a medium (StratoVirt's replaceable
     * slot before device_add), a disk of no sectors.
     */
    public static BlockDevice noMedium(String id) {
        return new BlockDevice(id);
    }

    private static int openForVectors(Path path, boolean readOnly) throws IOException {
        try {
            return dev.mesovirt.vmm.sys.Sys.open(path.toString(), readOnly ? dev.mesovirt.vmm.sys.LibC.O_RDONLY
                    : dev.mesovirt.vmm.sys.LibC.O_RDWR);
        } catch (dev.mesovirt.vmm.sys.ErrnoException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static byte[] configSpace(long capacitySectors, int blockSize, int physical) {
        ByteBuffer c = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        c.putLong(0, capacitySectors);
        c.putInt(8, 0);                      // size_max (F_SIZE_MAX not offered)
        c.putInt(12, QUEUE_SIZE - 2);        // seg_max
        c.putInt(20, blockSize);             // blk_size
        if (physical != 0) {
            // physical_block_exp: physical = logical << exp; alignment_offset, min_io_size, opt_io_size stay 0
            c.put(24, (byte) Integer.numberOfTrailingZeros(physical / blockSize));
        }
        return c.array();
    }

    /**
     * The alignment the JDK's O_DIRECT channel on {@code path} takes: its file system's block size (what
     * FileChannelImpl reads with fstatvfs), and at least a block device's logical sector size (BLKSSZGET).
     */
    static int directAlignment(Path path) throws IOException {
        int frsize = (int) Math.max(SECTOR, Files.getFileStore(path).getBlockSize());
        return isBlockDevice(path) ? Math.max(frsize, blockDeviceSector(path)) : frsize;
    }

    /**
     * The sector size a guest is told by default with O_DIRECT: a block device's own (BLKSSZGET, usually 512, as
     * QEMU reports it), else the alignment (a file system's block size).
     */
    private static int nativeSector(Path path, int alignment) throws IOException {
        return isBlockDevice(path) ? blockDeviceSector(path) : alignment;
    }

    private static boolean isBlockDevice(Path path) throws IOException {
        return ((Integer) Files.getAttribute(path, "unix:mode") & S_IFMT) == S_IFBLK;
    }

    private static int blockDeviceSector(Path path) throws IOException {
        int fd = dev.mesovirt.vmm.sys.Sys.open(path.toString(), dev.mesovirt.vmm.sys.LibC.O_RDONLY);
        try (com.sun.jna.Memory size = new com.sun.jna.Memory(4)) {
            dev.mesovirt.vmm.sys.Sys.ioctl(fd, BLKSSZGET, size, "BLKSSZGET(" + path + ")");
            return Math.max(SECTOR, size.getInt(0));
        } catch (dev.mesovirt.vmm.sys.ErrnoException e) {
            throw new IOException(e.getMessage(), e);
        } finally {
            dev.mesovirt.vmm.sys.Sys.close(fd);
        }
    }

    public long capacitySectors() {
        return capacitySectors;
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_BLOCK;
    }

    @Override
    public long features() {
        long f = (1L << F_SEG_MAX) | (1L << F_FLUSH);
        if (readOnly) {
            f |= 1L << F_RO;
        }
        if (blockSize != SECTOR) {
            f |= 1L << F_BLK_SIZE;
        }
        if (topology) {
            f |= 1L << F_TOPOLOGY;
        }
        return f;
    }

    @Override
    public List<Integer> queueSizes() {
        return List.of(QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long o = offset + i;
            data[i] = o >= 0 && o < config.length ? config[(int) o] : 0;
        }
    }

    @Override
    public void activate(GuestMemory mem, List<Virtqueue> qs, long ackedFeatures, QueueInterrupt irq) {
        this.memory = mem;
        this.queues = qs;
        this.interrupt = irq;
    }

    /**
     * The configuration space the guest's driver has read (capacity, block size, topology) and the read-only flag: a
     * restore must find the same disk, not one that has grown or shrunk under the guest's file system.
     */
    @Override
    public byte[] saveState() {
        return new dev.mesovirt.vmm.snapshot.StateWriter().bytes(config).bool(readOnly).toByteArray();
    }

    @Override
    public void restoreState(byte[] state) {
        dev.mesovirt.vmm.snapshot.StateReader r = new dev.mesovirt.vmm.snapshot.StateReader(id, state);
        byte[] saved = r.bytes();
        boolean ro = r.bool();
        r.end();
        if (!java.util.Arrays.equals(saved, config) || ro != readOnly) {
            throw new dev.mesovirt.vmm.snapshot.SnapshotException("snapshot: disk " + id + " is not the one the snapshot"
                    + " was taken with (its size, block size or read-only flag differ)");
        }
    }

    @Override
    public void reset() {
        memory = null;
        queues = List.of();
    }

    @Override
    public void process(int index) throws VirtioException {
        if (queues.get(index).serveAvailable(this::handle)) {
            interrupt.usedBuffers(index);
        }
    }

    /** Serves one request; returns the bytes written to its device-writable buffers. */
    int handle(DescriptorChain chain) throws VirtioException {
        long writable = chain.writableLength();
        if (writable < 1) {
            throw new VirtioException("block request without a status byte");
        }
        List<DescriptorChain.Segment> status = Segments.range(chain.writable(), writable - 1, 1);
        List<DescriptorChain.Segment> in = Segments.range(chain.writable(), 0, writable - 1);
        byte[] header = Segments.gather(memory, chain.readable(), 16);
        byte result;
        int dataWritten = 0;
        if (header.length < 16) {
            result = S_IOERR;
        } else {
            ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
            int type = h.getInt(0);
            long sector = h.getLong(8);
            List<DescriptorChain.Segment> out = Segments.range(chain.readable(), 16, Long.MAX_VALUE / 2);
            switch (type) {
                case T_IN -> {
                    long len = writable - 1;
                    result = transfer(sector, in, len, false);
                    dataWritten = result == S_OK ? (int) len : 0;
                }
                case T_OUT -> result = readOnly ? S_IOERR : transfer(sector, out, Segments.total(out), true);
                case T_FLUSH -> result = flush();
                case T_GET_ID -> {
                    byte[] idBytes = java.util.Arrays.copyOf(serial, (int) Math.min(ID_BYTES, writable - 1));
                    dataWritten = Segments.scatter(memory, in, idBytes);
                    result = S_OK;
                }
                default -> result = S_UNSUPP;
            }
        }
        memory.writeByte(status.get(0).address(), result);
        return dataWritten + 1;
    }

    private byte flush() {
        if (readOnly || noFlush) {
            return S_OK;
        }
        try {
            file.force(false); // fdatasync(2)
            return S_OK;
        } catch (IOException e) {
            LOG.warn("{}: flush failed: {}", id, e.getMessage());
            return S_IOERR;
        }
    }

    private byte transfer(long sector, List<DescriptorChain.Segment> segs, long len, boolean write) {
        if (file == null) {
            return S_IOERR; // no medium
        }
        if (sector < 0 || sector > capacitySectors || len > (capacitySectors - sector) * SECTOR) {
            return S_IOERR;
        }
        long pos = sector * SECTOR;
        try {
            if (direct) {
                return directTransfer(pos, segs, len, write);
            }
            // Most requests complete in the one vectored call; a short one (the image's end, a signal) or one with
            // more buffers than an iovec array holds goes on buffer by buffer from where it stopped.
            long skip = vectored(pos, segs, write);
            pos += skip;
            for (DescriptorChain.Segment s : segs) {
                for (ByteBuffer b : memory.slices(s.address(), s.length())) {
                    if (skip >= b.remaining()) {
                        skip -= b.remaining();
                        continue;
                    }
                    b.position(b.position() + (int) skip);
                    skip = 0;
                    while (b.hasRemaining()) {
                        int n = write ? file.write(b, pos) : file.read(b, pos);
                        if (n < 0) {
                            return S_IOERR; // the image shrank under us
                        }
                        pos += n;
                    }
                }
            }
            return S_OK;
        } catch (IOException | dev.mesovirt.vmm.sys.ErrnoException e) {
            LOG.warn("{}: {} at byte {} failed: {}", id, write ? "write" : "read", pos, e.getMessage());
            return S_IOERR;
        }
    }

    /**
     * The request's buffers in one preadv/pwritev at {@code pos}; returns the bytes moved (0: not tried). A request
     * of one buffer stays with FileChannel's pread/pwrite, a cheaper call than JNA's.
     */
    private long vectored(long pos, List<DescriptorChain.Segment> segs, boolean write) {
        if (vector == null || segs.size() < 2) {
            return 0;
        }
        vector.clear();
        for (DescriptorChain.Segment s : segs) {
            for (ByteBuffer b : memory.slices(s.address(), s.length())) {
                if (!vector.add(b)) {
                    return 0;
                }
            }
        }
        return Math.max(0, write ? vector.write(vectorFd, pos, id) : vector.read(vectorFd, pos, id));
    }

    /**
     * O_DIRECT needs aligned memory, offset and length: the transfer goes through an aligned bounce buffer covering
     * the request widened to {@link #alignment} (a write the guest aligned only to its sectors reads the rest of the
     * span first). A widened write that would reach past the image's end (its size not a multiple of the
     * alignment) is refused rather than growing the file.
     */
    private byte directTransfer(long pos, List<DescriptorChain.Segment> segs, long len, boolean write)
            throws IOException {
        long start = pos - pos % alignment;
        long end = (pos + len + alignment - 1) / alignment * alignment;
        if (end - start > MAX_DIRECT_SPAN) {
            return S_IOERR;
        }
        boolean widened = start != pos || end != pos + len;
        if (write && widened && end > sizeBytes) {
            LOG.warn("{}: a {}-byte write at byte {} would widen past the image's end", id, len, pos);
            return S_IOERR;
        }
        int span = (int) (end - start);
        ByteBuffer bounce = ByteBuffer.allocateDirect(span + alignment).alignedSlice(alignment);
        bounce.limit(span);
        if (!write || widened) {
            while (bounce.hasRemaining()) {
                if (file.read(bounce, start + bounce.position()) < 0) {
                    break; // past the end: zeros (allocateDirect's), which the guest never gets
                }
            }
        }
        bounce.position((int) (pos - start));
        for (DescriptorChain.Segment s : segs) {
            for (ByteBuffer b : memory.slices(s.address(), s.length())) {
                if (write) {
                    bounce.put(b);
                } else {
                    ByteBuffer part = bounce.slice(bounce.position(), b.remaining());
                    b.put(part);
                    bounce.position(bounce.position() + part.capacity());
                }
            }
        }
        if (write) {
            bounce.clear().limit(span);
            while (bounce.hasRemaining()) {
                file.write(bounce, start + bounce.position());
            }
        }
        return S_OK;
    }

    @Override
    public synchronized void close() {
        if (file == null || closed) {
            return;
        }
        closed = true; // the descriptor number may be reused after this: never close it twice
        if (vectorFd >= 0) {
            dev.mesovirt.vmm.sys.Fds.closeQuietly(vectorFd);
            vector.close();
        }
        try {
            file.close();
        } catch (IOException e) {
            LOG.warn("{}: close: {}", id, e.getMessage());
        }
    }
}
