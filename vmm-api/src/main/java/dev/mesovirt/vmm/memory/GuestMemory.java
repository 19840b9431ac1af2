package dev.mesovirt.vmm.memory;

import com.sun.jna.Pointer;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Guest RAM: anonymous mappings in this process, registered with KVM as memory slots; or, for a guest whose devices
 * are served by another process (vhost-user), one memfd mapped shared, which that process maps too
 * ({@link #allocateShared}, {@link #mappings}). Every access is checked
 * against the RAM ranges before it touches memory, so a guest-supplied address can only ever produce a
 * {@link GuestMemoryException}. Each region is viewed through direct ByteBuffers of at most 1 GiB (a ByteBuffer is
 * int-indexed); an access that straddles two views is split.
 */
public final class GuestMemory implements AutoCloseable {
    /** A range of guest-physical RAM. */
    public record Region(long guestAddress, long size) {
        public Region {
            if (guestAddress < 0 || size <= 0 || guestAddress + size < guestAddress) {
                throw new IllegalArgumentException("bad guest RAM region 0x" + Long.toHexString(guestAddress)
                        + " size 0x" + Long.toHexString(size));
            }
        }

        public long end() {
            return guestAddress + size;
        }
    }

    /**
     * Where a region of guest RAM lives: at {@code hostAddress} in this process and, when RAM is shared, at
     * {@code fdOffset} in the memfd {@code fd} (-1 when it is private), which is what a vhost-user back-end maps.
     */
    public record Mapping(long guestAddress, long size, long hostAddress, int fd, long fdOffset) {}

    private static final long CHUNK = 1L << 30;
    private static final long PAGE = 4096;

    private final List<Region> regions;
    private final List<Pointer> mappings = new ArrayList<>();
    /** The memfd behind shared RAM, -1 for private anonymous RAM. */
    private final int memfd;
    private final long[] fileOffsets;
    private final long[] chunkStart;
    private final long[] chunkEnd;
    private final ByteBuffer[] chunks;
    private final long[] chunkHost;
    private boolean closed;

    private GuestMemory(List<Region> regions, boolean dumpable, boolean shared) {
        this(regions, dumpable, shared, -1);
    }

    /**
     * {@code file} >= 0: each region mapped MAP_PRIVATE from that file at its offset in the back-to-back layout (a
     * snapshot's memory file): pages are read on first touch and copied on first write, so a file is a template any
     * number of VMs can share. The file descriptor is not kept.
     */
    private GuestMemory(List<Region> regions, boolean dumpable, boolean shared, int file) {
        List<Region> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(Region::guestAddress));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).guestAddress() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("guest RAM regions overlap: " + sorted.get(i - 1) + " and " + sorted.get(i));
            }
        }
        this.regions = List.copyOf(sorted);
        fileOffsets = new long[this.regions.size()];
        long total = 0;
        for (int i = 0; i < this.regions.size(); i++) {
            Region r = this.regions.get(i);
            if (r.guestAddress() % PAGE != 0 || r.size() % PAGE != 0) {
                throw new IllegalArgumentException("guest RAM region not page aligned: " + r);
            }
            fileOffsets[i] = total;
            total += r.size();
        }
        memfd = shared ? createMemfd(total) : -1;
        try {
            for (int i = 0; i < this.regions.size(); i++) {
                Region r = this.regions.get(i);
                mappings.add(file >= 0
                        ? Sys.mmap(r.size(), LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE | LibC.MAP_NORESERVE,
                                file, fileOffsets[i], "guest RAM from a snapshot")
                        : shared
                        ? Sys.mmap(r.size(), LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_NORESERVE,
                                memfd, fileOffsets[i], "shared guest RAM")
                        : Sys.mmap(r.size(), LibC.PROT_READ | LibC.PROT_WRITE,
                                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0, "guest RAM"));
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < mappings.size(); i++) {
                Sys.munmap(mappings.get(i), this.regions.get(i).size());
            }
            Fds.closeQuietly(memfd);
            throw e;
        }
        List<long[]> bounds = new ArrayList<>();
        List<ByteBuffer> views = new ArrayList<>();
        for (int i = 0; i < this.regions.size(); i++) {
            Region r = this.regions.get(i);
            Pointer host = mappings.get(i);
            if (!dumpable) {
                try {
                    LibC.madvise(host, r.size(), LibC.MADV_DONTDUMP);
                } catch (com.sun.jna.LastErrorException ignored) {
                    // Only affects core dumps; not worth failing the VM for.
                }
            }
            for (long off = 0; off < r.size(); off += CHUNK) {
                long len = Math.min(CHUNK, r.size() - off);
                bounds.add(new long[] {r.guestAddress() + off, r.guestAddress() + off + len, Pointer.nativeValue(host) + off});
                views.add(host.getByteBuffer(off, len).order(ByteOrder.LITTLE_ENDIAN));
            }
        }
        int n = bounds.size();
        chunkStart = new long[n];
        chunkEnd = new long[n];
        chunkHost = new long[n];
        chunks = views.toArray(new ByteBuffer[0]);
        for (int i = 0; i < n; i++) {
            chunkStart[i] = bounds.get(i)[0];
            chunkEnd[i] = bounds.get(i)[1];
            chunkHost[i] = bounds.get(i)[2];
        }
    }

    /** Maps the given RAM regions (page aligned, non-overlapping). */
    public static GuestMemory allocate(List<Region> regions) {
        return new GuestMemory(regions, true, false);
    }

    /** As {@link #allocate(List)}, optionally keeping guest RAM out of the VMM's core dumps. */
    public static GuestMemory allocate(List<Region> regions, boolean dumpable) {
        return new GuestMemory(regions, dumpable, false);
    }

    /**
     * As {@link #allocate(List, boolean)}, but RAM another process can map: one memfd holding the regions back to
     * back, mapped MAP_SHARED here (QEMU's memory-backend-memfd with share=on). The descriptor and each region's
     * offset in it are in {@link #mappings}; a vhost-user back-end given them sees the guest's memory as it is.
     */
    public static GuestMemory allocateShared(List<Region> regions, boolean dumpable) {
        return new GuestMemory(regions, dumpable, true);
    }

    /**
     * The given regions mapped privately from {@code file}, which holds them back to back (a snapshot's memory file,
     * of exactly their total size): lazy, and shareable by every VM restored from it.
     */
    public static GuestMemory mapFile(List<Region> regions, java.nio.file.Path file, boolean dumpable) {
        int fd = Sys.open(file.toString(), LibC.O_RDONLY);
        try {
            return new GuestMemory(regions, dumpable, false, fd);
        } finally {
            Sys.close(fd);
        }
    }

    private static int createMemfd(long size) {
        int fd;
        try {
            fd = LibC.memfd_create("mesovirt-guest-ram", LibC.MFD_CLOEXEC);
        } catch (com.sun.jna.LastErrorException e) {
            throw new ErrnoException("memfd_create(guest RAM)", e.getErrorCode());
        }
        try {
            LibC.ftruncate(fd, size);
        } catch (com.sun.jna.LastErrorException e) {
            Fds.closeQuietly(fd);
            throw new ErrnoException("ftruncate(guest RAM memfd, " + size + ")", e.getErrorCode());
        }
        return fd;
    }

    /** Whether RAM is a memfd other processes can map ({@link #allocateShared}). */
    public boolean shared() {
        return memfd >= 0;
    }

    /** Each region's place in this process and, for shared RAM, in the memfd, in guest-address order. */
    public List<Mapping> mappings() {
        List<Mapping> out = new ArrayList<>(regions.size());
        for (int i = 0; i < regions.size(); i++) {
            Region r = regions.get(i);
            out.add(new Mapping(r.guestAddress(), r.size(), Pointer.nativeValue(mappings.get(i)), memfd,
                    memfd >= 0 ? fileOffsets[i] : 0));
        }
        return out;
    }

    /** Registers every region with KVM as a memory slot, numbered from {@code firstSlot}. */
    public void registerWith(Vm vm, int firstSlot) {
        int slot = firstSlot;
        for (int i = 0; i < regions.size(); i++) {
            Region r = regions.get(i);
            vm.setUserMemoryRegion(slot++, 0, r.guestAddress(), r.size(), Pointer.nativeValue(mappings.get(i)));
        }
    }

    public List<Region> regions() {
        return regions;
    }

    /**
     * Zeroes all of guest RAM by giving its pages back to the host (MADV_DONTNEED on the private anonymous mapping:
     * the next touch maps a fresh zero page; for shared RAM a hole punched through the whole memfd, which every
     * process mapping it sees), so a machine reset starts from clean RAM as a power cycle would and
     * the VMM's resident memory drops to what the rebooted guest touches. No VM may be running on it.
     */
    public synchronized void discard() {
        if (closed) {
            throw new IllegalStateException("guest memory is closed");
        }
        if (memfd >= 0) {
            // MADV_DONTNEED on a shared mapping only drops this process's page table entries: the data stays.
            try {
                LibC.fallocate(memfd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, 0, totalSize());
            } catch (com.sun.jna.LastErrorException e) {
                throw new GuestMemoryException("fallocate(PUNCH_HOLE) of shared guest RAM failed: errno "
                        + e.getErrorCode());
            }
            return;
        }
        for (int i = 0; i < mappings.size(); i++) {
            try {
                LibC.madvise(mappings.get(i), regions.get(i).size(), LibC.MADV_DONTNEED);
            } catch (com.sun.jna.LastErrorException e) {
                throw new GuestMemoryException("madvise(MADV_DONTNEED) of guest RAM failed: errno " + e.getErrorCode());
            }
        }
    }

    public long totalSize() {
        long total = 0;
        for (Region r : regions) {
            total += r.size();
        }
        return total;
    }

    /** True when [address, address+length) lies entirely in guest RAM. */
    public boolean contains(long address, long length) {
        if (length < 0 || address < 0) {
            return false;
        }
        long end = address + length;
        if (end < address) {
            return false;
        }
        for (Region r : regions) {
            if (address >= r.guestAddress() && end <= r.end()) {
                return true;
            }
        }
        return false;
    }

    private int chunkOf(long address) {
        int lo = 0;
        int hi = chunkStart.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (address < chunkStart[mid]) {
                hi = mid - 1;
            } else if (address >= chunkEnd[mid]) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    private GuestMemoryException outside(long address, long length) {
        return new GuestMemoryException("guest access outside RAM: 0x" + Long.toHexString(address) + " length " + length);
    }

    private void checkOpen() {
        if (closed) {
            throw new GuestMemoryException("guest memory is closed");
        }
    }

    /** The chunk holding the whole access [address, address+length), or an exception. */
    private int chunkFor(long address, int length) {
        checkOpen();
        int c = chunkOf(address);
        if (c < 0 || length < 0 || chunkEnd[c] - address < length) {
            throw outside(address, length);
        }
        return c;
    }

    public void read(long address, byte[] destination, int offset, int length) {
        transfer(address, destination, offset, length, false);
    }

    public byte[] read(long address, int length) {
        if (!contains(address, length)) {
            throw outside(address, length);
        }
        byte[] data = new byte[length];
        read(address, data, 0, length);
        return data;
    }

    public void write(long address, byte[] source, int offset, int length) {
        transfer(address, source, offset, length, true);
    }

    /** Copies between guest RAM and an array, splitting where the range crosses a 1 GiB view. */
    private void transfer(long address, byte[] array, int offset, int length, boolean toGuest) {
        java.util.Objects.checkFromIndexSize(offset, length, array.length);
        if (!contains(address, length)) {
            throw outside(address, length);
        }
        checkOpen();
        int done = 0;
        while (done < length) {
            long a = address + done;
            int c = chunkOf(a);
            int n = (int) Math.min(length - done, chunkEnd[c] - a);
            int at = (int) (a - chunkStart[c]);
            if (toGuest) {
                chunks[c].put(at, array, offset + done, n);
            } else {
                chunks[c].get(at, array, offset + done, n);
            }
            done += n;
        }
    }

    public void write(long address, byte[] source) {
        write(address, source, 0, source.length);
    }

    /** Fills [address, address+length) with zeros. */
    public void zero(long address, long length) {
        if (!contains(address, length)) {
            throw outside(address, length);
        }
        byte[] zeros = new byte[(int) Math.min(length, 1 << 16)];
        for (long done = 0; done < length; done += zeros.length) {
            write(address + done, zeros, 0, (int) Math.min(zeros.length, length - done));
        }
    }

    public byte readByte(long address) {
        int c = chunkFor(address, 1);
        return chunks[c].get((int) (address - chunkStart[c]));
    }

    public short readShort(long address) {
        int c = chunkFor(address, 2);
        return chunks[c].getShort((int) (address - chunkStart[c]));
    }

    public int readInt(long address) {
        int c = chunkFor(address, 4);
        return chunks[c].getInt((int) (address - chunkStart[c]));
    }

    public long readLong(long address) {
        int c = chunkFor(address, 8);
        return chunks[c].getLong((int) (address - chunkStart[c]));
    }

    public void writeByte(long address, byte value) {
        int c = chunkFor(address, 1);
        chunks[c].put((int) (address - chunkStart[c]), value);
    }

    public void writeShort(long address, short value) {
        int c = chunkFor(address, 2);
        chunks[c].putShort((int) (address - chunkStart[c]), value);
    }

    public void writeInt(long address, int value) {
        int c = chunkFor(address, 4);
        chunks[c].putInt((int) (address - chunkStart[c]), value);
    }

    public void writeLong(long address, long value) {
        int c = chunkFor(address, 8);
        chunks[c].putLong((int) (address - chunkStart[c]), value);
    }

    /**
     * A little-endian view of [address, address+length) for zero-copy I/O (e.g. a FileChannel reading straight into
     * guest RAM). The range must lie in one 1 GiB view; use {@link #slices} for ranges that may straddle one.
     */
    public ByteBuffer slice(long address, int length) {
        int c = chunkFor(address, length);
        return chunks[c].slice((int) (address - chunkStart[c]), length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Views covering [address, address+length) in order, split where the range crosses a view boundary. */
    public List<ByteBuffer> slices(long address, long length) {
        if (!contains(address, length)) {
            throw outside(address, length);
        }
        List<ByteBuffer> out = new ArrayList<>(1);
        long done = 0;
        while (done < length) {
            long a = address + done;
            int c = chunkOf(a);
            int n = (int) Math.min(length - done, chunkEnd[c] - a);
            out.add(chunks[c].slice((int) (a - chunkStart[c]), n).order(ByteOrder.LITTLE_ENDIAN));
            done += n;
        }
        return out;
    }

    /** Host virtual address of a guest address, for the kernel APIs that want one (KVM memslots, vhost). */
    public long hostAddress(long address) {
        int c = chunkFor(address, 0);
        return chunkHost[c] + (address - chunkStart[c]);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = 0; i < mappings.size(); i++) {
            Sys.munmap(mappings.get(i), regions.get(i).size());
        }
        Fds.closeQuietly(memfd);
    }
}
