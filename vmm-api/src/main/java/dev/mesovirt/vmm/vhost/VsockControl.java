package dev.mesovirt.vmm.vhost;

/** The vsock-specific requests of the kernel's vhost-vsock back-end (linux/vhost.h, "VHOST_VSOCK specific"). */
public interface VsockControl {
    /**
     * VHOST_VSOCK_SET_GUEST_CID: the guest's context ID on the host. A CID another VM already uses fails with
     * EADDRINUSE (as {@link VhostException#errno()}).
     */
    void setGuestCid(long cid) throws VhostException;

    /** VHOST_VSOCK_SET_RUNNING: start (after the rings are set up) or stop serving the rings. */
    void setRunning(boolean running) throws VhostException;
}
