package dev.mesovirt.vmm.vhost;

import static dev.mesovirt.vmm.sys.Ioctls.io;
import static dev.mesovirt.vmm.sys.Ioctls.ior;
import static dev.mesovirt.vmm.sys.Ioctls.iow;
import static dev.mesovirt.vmm.sys.Ioctls.iowr;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.util.List;

/**
 * {@link VhostBackend} over a kernel vhost device ({@code /dev/vhost-vsock}, {@code /dev/vhost-net}): the VHOST_*
 * ioctls of linux/vhost.h with the structures of linux/vhost_types.h, laid out by hand below (a unit test compares
 * them with the C compiler's view of the headers). The kernel shares this process's address space, so memory
 * regions and ring addresses are host virtual addresses and no descriptor travels with them.
 */
public final class KernelVhostBackend implements VhostBackend {
    /** VHOST_VIRTIO, the ioctl type byte of every vhost request. */
    static final int VHOST_VIRTIO = 0xAF;
    /** struct vhost_vring_state: index u32, num u32. */
    static final int VRING_STATE_SIZE = 8;
    /** struct vhost_vring_file: index u32, fd s32. */
    static final int VRING_FILE_SIZE = 8;
    /** struct vhost_vring_addr: index u32, flags u32, then desc, used, avail, log as u64 (note: used before avail). */
    static final int VRING_ADDR_SIZE = 40;
    static final int VRING_ADDR_FLAGS = 4;
    static final int VRING_ADDR_DESC = 8;
    static final int VRING_ADDR_USED = 16;
    static final int VRING_ADDR_AVAIL = 24;
    static final int VRING_ADDR_LOG = 32;
    /** struct vhost_memory: nregions u32, padding u32, then the regions. */
    static final int MEMORY_HEADER_SIZE = 8;
    /** struct vhost_memory_region: guest_phys_addr, memory_size, userspace_addr, flags_padding, all u64. */
    static final int MEMORY_REGION_SIZE = 32;

    static final long GET_FEATURES = ior(VHOST_VIRTIO, 0x00, 8);
    static final long SET_FEATURES = iow(VHOST_VIRTIO, 0x00, 8);
    static final long SET_OWNER = io(VHOST_VIRTIO, 0x01);
    static final long SET_MEM_TABLE = iow(VHOST_VIRTIO, 0x03, MEMORY_HEADER_SIZE);
    static final long SET_VRING_NUM = iow(VHOST_VIRTIO, 0x10, VRING_STATE_SIZE);
    static final long SET_VRING_ADDR = iow(VHOST_VIRTIO, 0x11, VRING_ADDR_SIZE);
    static final long SET_VRING_BASE = iow(VHOST_VIRTIO, 0x12, VRING_STATE_SIZE);
    static final long GET_VRING_BASE = iowr(VHOST_VIRTIO, 0x12, VRING_STATE_SIZE);
    static final long SET_VRING_KICK = iow(VHOST_VIRTIO, 0x20, VRING_FILE_SIZE);
    static final long SET_VRING_CALL = iow(VHOST_VIRTIO, 0x21, VRING_FILE_SIZE);
    static final long VSOCK_SET_GUEST_CID = iow(VHOST_VIRTIO, 0x60, 8);
    static final long VSOCK_SET_RUNNING = iow(VHOST_VIRTIO, 0x61, 4);

    private final String name;
    private final int fd;
    private volatile boolean closed;

    /**
     * Takes over {@code fd}, an open kernel vhost device (opened here by {@link #open}, or passed by the caller as
     * QEMU's {@code vhostfd=}); {@link #close} closes it.
     *
     * @param name for error messages (the device node, or "vhostfd=N")
     */
    public KernelVhostBackend(String name, int fd) {
        this.name = name;
        this.fd = fd;
    }

    /**
     * Opens the vhost device node {@code path} read-write. A missing node or a refused open is an
     * {@link ErrnoException} naming the path; the caller words it for the user.
     */
    public static KernelVhostBackend open(String path) {
        return new KernelVhostBackend(path, Sys.open(path, LibC.O_RDWR));
    }

    public int fd() {
        return fd;
    }

    @Override
    public long getFeatures() throws VhostException {
        try (Memory m = new Memory(8)) {
            m.setLong(0, 0);
            ioctl(GET_FEATURES, m, "VHOST_GET_FEATURES");
            return m.getLong(0);
        }
    }

    @Override
    public void setFeatures(long features) throws VhostException {
        ioctl(SET_FEATURES, 8, features, "VHOST_SET_FEATURES(0x" + Long.toHexString(features) + ")");
    }

    @Override
    public void setOwner() throws VhostException {
        try {
            Sys.ioctl(fd, SET_OWNER, 0L, "VHOST_SET_OWNER");
        } catch (ErrnoException e) {
            throw failed(e);
        }
    }

    @Override
    public void setMemTable(List<VhostMemoryRegion> regions) throws VhostException {
        try (Memory m = new Memory(MEMORY_HEADER_SIZE + (long) MEMORY_REGION_SIZE * Math.max(1, regions.size()))) {
            m.clear();
            m.setInt(0, regions.size());
            for (int i = 0; i < regions.size(); i++) {
                VhostMemoryRegion r = regions.get(i);
                long at = MEMORY_HEADER_SIZE + (long) MEMORY_REGION_SIZE * i;
                m.setLong(at, r.guestAddress());
                m.setLong(at + 8, r.size());
                m.setLong(at + 16, r.userAddress());
            }
            ioctl(SET_MEM_TABLE, m, "VHOST_SET_MEM_TABLE(" + regions.size() + " regions)");
        }
    }

    @Override
    public void setVringNum(int queue, int size) throws VhostException {
        vringState(SET_VRING_NUM, queue, size, "VHOST_SET_VRING_NUM");
    }

    @Override
    public void setVringAddr(VringAddress a) throws VhostException {
        try (Memory m = new Memory(VRING_ADDR_SIZE)) {
            m.clear();
            m.setInt(0, a.queue());
            m.setInt(VRING_ADDR_FLAGS, a.flags());
            m.setLong(VRING_ADDR_DESC, a.descUser());
            m.setLong(VRING_ADDR_USED, a.usedUser());
            m.setLong(VRING_ADDR_AVAIL, a.availUser());
            m.setLong(VRING_ADDR_LOG, a.logGuestAddress());
            ioctl(SET_VRING_ADDR, m, "VHOST_SET_VRING_ADDR(queue " + a.queue() + ")");
        }
    }

    @Override
    public void setVringBase(int queue, int base) throws VhostException {
        vringState(SET_VRING_BASE, queue, base, "VHOST_SET_VRING_BASE");
    }

    @Override
    public int getVringBase(int queue) throws VhostException {
        try (Memory m = new Memory(VRING_STATE_SIZE)) {
            m.setInt(0, queue);
            m.setInt(4, 0);
            ioctl(GET_VRING_BASE, m, "VHOST_GET_VRING_BASE(queue " + queue + ")");
            return m.getInt(4);
        }
    }

    @Override
    public void setVringKick(int queue, EventFd kick) throws VhostException {
        vringFile(SET_VRING_KICK, queue, kick.fd(), "VHOST_SET_VRING_KICK");
    }

    @Override
    public void setVringCall(int queue, EventFd call) throws VhostException {
        vringFile(SET_VRING_CALL, queue, call.fd(), "VHOST_SET_VRING_CALL");
    }

    @Override
    public void setVringEnable(int queue, boolean enable) {
        // The kernel has no per-ring enable: a ring runs once it has addresses, a kick fd and (vsock) RUNNING.
    }

    @Override
    public boolean mayShareKickFd() {
        return true;
    }

    /** The vsock requests on this same descriptor; meaningful only when it is {@code /dev/vhost-vsock}. */
    public VsockControl vsock() {
        return new VsockControl() {
            @Override
            public void setGuestCid(long cid) throws VhostException {
                ioctl(VSOCK_SET_GUEST_CID, 8, cid, "VHOST_VSOCK_SET_GUEST_CID(" + cid + ")");
            }

            @Override
            public void setRunning(boolean running) throws VhostException {
                ioctl(VSOCK_SET_RUNNING, 4, running ? 1 : 0, "VHOST_VSOCK_SET_RUNNING(" + (running ? 1 : 0) + ")");
            }
        };
    }

    private void vringState(long request, int queue, int num, String what) throws VhostException {
        try (Memory m = new Memory(VRING_STATE_SIZE)) {
            m.setInt(0, queue);
            m.setInt(4, num);
            ioctl(request, m, what + "(queue " + queue + ", " + num + ")");
        }
    }

    private void vringFile(long request, int queue, int file, String what) throws VhostException {
        try (Memory m = new Memory(VRING_FILE_SIZE)) {
            m.setInt(0, queue);
            m.setInt(4, file);
            ioctl(request, m, what + "(queue " + queue + ")");
        }
    }

    /** A request whose argument points to one integer of {@code size} bytes (a __u64 or an int). */
    private void ioctl(long request, int size, long value, String what) throws VhostException {
        try (Memory m = new Memory(size)) {
            if (size == 8) {
                m.setLong(0, value);
            } else {
                m.setInt(0, (int) value);
            }
            ioctl(request, m, what);
        }
    }

    private void ioctl(long request, Memory argument, String what) throws VhostException {
        if (closed) {
            throw new VhostException(name + ": " + what + " after close");
        }
        try {
            Sys.ioctl(fd, request, argument, what);
        } catch (ErrnoException e) {
            throw failed(e);
        }
    }

    private VhostException failed(ErrnoException e) {
        return new VhostException(name + ": " + e.getMessage(), e.errno(), e);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Fds.closeQuietly(fd);
        }
    }
}
