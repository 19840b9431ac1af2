package dev.mesovirt.vmm.vhost;

import dev.mesovirt.vmm.sys.EventFd;
import java.util.List;

/**
 * The vhost protocol seen from the front-end, the side that owns guest RAM and the virtio transport (this VMM),
 * independent of how requests reach the back-end: ioctls on {@code /dev/vhost-*} ({@link KernelVhostBackend}) or
 * messages on a vhost-user socket. Requests mirror the VHOST_* ioctls, which vhost-user's messages copy.
 *
 * <p>A back-end is driven from one thread at a time (the device's, under its transport's lock). Every failure is a
 * {@link VhostException} naming the request.
 */
public interface VhostBackend extends AutoCloseable {
    /** VHOST_GET_FEATURES: the virtio (and vhost) feature bits the back-end supports. */
    long getFeatures() throws VhostException;

    /** VHOST_SET_FEATURES: the bits the driver acknowledged, a subset of {@link #getFeatures()}. */
    void setFeatures(long features) throws VhostException;

    /** VHOST_SET_OWNER: this front-end owns the back-end's session; the first request. */
    void setOwner() throws VhostException;

    /** VHOST_SET_MEM_TABLE: guest RAM as the back-end must translate it. */
    void setMemTable(List<VhostMemoryRegion> regions) throws VhostException;

    /** VHOST_SET_VRING_NUM: the size the driver gave queue {@code queue}. */
    void setVringNum(int queue, int size) throws VhostException;

    /** VHOST_SET_VRING_ADDR: where the queue's descriptor table, available and used rings are. */
    void setVringAddr(VringAddress address) throws VhostException;

    /** VHOST_SET_VRING_BASE: the next available index to process (0 for a queue the driver just set up). */
    void setVringBase(int queue, int base) throws VhostException;

    /**
     * VHOST_GET_VRING_BASE: the next available index the back-end would process; for vhost-user (and the kernel's
     * vsock and net back-ends once they were told to stop) the queue is stopped.
     */
    int getVringBase(int queue) throws VhostException;

    /** VHOST_SET_VRING_KICK: the eventfd whose signal means "the driver made buffers available". */
    void setVringKick(int queue, EventFd kick) throws VhostException;

    /** VHOST_SET_VRING_CALL: the eventfd the back-end signals when the driver wants an interrupt. */
    void setVringCall(int queue, EventFd call) throws VhostException;

    /**
     * Enables or disables a queue (vhost-user's SET_VRING_ENABLE). The kernel has no such request: its rings run
     * from the moment they have a kick eventfd and a backend, so it does nothing there.
     */
    void setVringEnable(int queue, boolean enable) throws VhostException;

    /**
     * Whether the back-end may be given the very eventfd KVM's ioeventfd signals for a queue notification (the
     * kernel's vhost may, and so may a vhost-user back-end that polls its kick fds): the guest's notification then
     * reaches the back-end without waking the VMM. When false the device relays notifications to a kick eventfd of
     * its own.
     */
    boolean mayShareKickFd();

    /** Ends the session: the back-end stops serving and forgets guest memory. */
    @Override
    void close();
}
