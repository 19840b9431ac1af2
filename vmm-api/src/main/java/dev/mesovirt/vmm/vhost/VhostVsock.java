package dev.mesovirt.vmm.vhost;

import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.virtio.VirtioIds;
import java.util.Arrays;
import java.util.List;

/**
 * virtio-vsock (virtio 1.2 section 5.10) through the kernel's vhost-vsock: the configuration space is the guest's
 * CID, the kernel serves the rx and tx queues, and the event queue stays here, its buffers held for the transport
 * reset event that only a migration would send. The CID is registered when the device is made, so that one already
 * in use is refused before the guest starts.
 */
public final class VhostVsock implements VhostDeviceModel {
    /** The kernel's device node. */
    public static final String DEVICE = "/dev/vhost-vsock";
    /** Queue sizes, as QEMU's vhost-vsock-device. */
    static final int QUEUE_SIZE = 128;
    static final int RX = 0;
    static final int TX = 1;
    static final int EVENT = 2;
    /** VIRTIO_VSOCK_F_SEQPACKET: SOCK_SEQPACKET sockets, offered when the host kernel has them. */
    static final int F_SEQPACKET = 1;
    /** The first CID a guest may have: 0 is the hypervisor, 1 local, 2 the host. */
    public static final long MIN_GUEST_CID = 3;
    /** U32_MAX is VMADDR_CID_ANY, so a guest's CID lies below it. */
    public static final long MAX_GUEST_CID = 0xffff_fffeL;
    static final int EADDRINUSE = 98;
    static final int ENOENT = 2;
    static final int EACCES = 13;

    private final long guestCid;
    private final VsockControl control;

    public VhostVsock(long guestCid, VsockControl control) {
        checkCid(guestCid);
        this.guestCid = guestCid;
        this.control = control;
    }

    /** IllegalArgumentException unless {@code cid} is a CID a guest may have. */
    public static void checkCid(long cid) {
        if (cid < MIN_GUEST_CID || cid > MAX_GUEST_CID) {
            throw new IllegalArgumentException("guest-cid " + Long.toUnsignedString(cid) + " is out of range: a guest's"
                    + " CID is at least " + MIN_GUEST_CID + " and less than 4294967295");
        }
    }

    /**
     * The vhost-vsock device {@code id} with CID {@code guestCid}: on {@code vhostFd}, an open {@code /dev/vhost-vsock}
     * descriptor the caller passed (Kata does), which the device owns from now on, or on {@code /dev/vhost-vsock}
     * opened here when it is negative. IllegalArgumentException with a message for the user when the node is missing
     * or refused, the descriptor is not open, or the CID is in use.
     */
    public static VhostDevice open(String id, long guestCid, int vhostFd) {
        checkCid(guestCid);
        String what = "device " + id + ": ";
        KernelVhostBackend backend;
        if (vhostFd >= 0) {
            if (!Fds.isOpen(vhostFd)) {
                throw new IllegalArgumentException(what + "vhostfd=" + vhostFd + " is not an open file descriptor");
            }
            backend = new KernelVhostBackend("vhostfd=" + vhostFd, vhostFd);
        } else {
            try {
                backend = KernelVhostBackend.open(DEVICE);
            } catch (ErrnoException e) {
                throw new IllegalArgumentException(what + switch (e.errno()) {
                    case ENOENT -> DEVICE + " does not exist: load the vhost_vsock module (modprobe vhost_vsock)";
                    case EACCES -> DEVICE + ": permission denied";
                    default -> e.getMessage();
                });
            }
        }
        try {
            VsockControl control = backend.vsock();
            control.setGuestCid(guestCid);
            return new VhostDevice(id, backend, new VhostVsock(guestCid, control));
        } catch (VhostException e) {
            backend.close();
            throw new IllegalArgumentException(what + (e.errno() == EADDRINUSE
                    ? "guest-cid " + guestCid + " is already in use by another VM on this host (EADDRINUSE)"
                    : e.getMessage()), e);
        }
    }

    public long guestCid() {
        return guestCid;
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_VSOCK;
    }

    @Override
    public long features(long backendFeatures) {
        return backendFeatures & (1L << F_SEQPACKET);
    }

    @Override
    public List<Integer> queueSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public boolean backendQueue(int index) {
        return index == RX || index == TX;
    }

    /** struct virtio_vsock_config: le64 guest_cid. */
    @Override
    public void readConfig(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            if (at >= 0 && at < 8) {
                data[i] = (byte) (guestCid >>> (8 * at));
            }
        }
    }

    @Override
    public void start() throws VhostException {
        control.setRunning(true);
    }

    @Override
    public void stop() throws VhostException {
        control.setRunning(false);
    }
}
