package dev.mesovirt.vmm.vhost;

/**
 * Where a split virtqueue's three areas are (struct vhost_vring_addr, VHOST_USER_SET_VRING_ADDR), both as the guest
 * programmed them and as addresses in this process: the kernel and vhost-user take the user (host virtual)
 * addresses and translate them through the memory table's {@code userAddress}es; the guest-physical ones are kept
 * for logs and for back-ends that want them.
 *
 * @param queue the queue's index
 * @param flags VHOST_VRING_F_LOG (bit 0) when {@code logGuestAddress} is valid; 0 without dirty logging
 * @param logGuestAddress where used-ring writes are logged, when {@code flags} says so
 */
public record VringAddress(int queue, int flags, long descGuest, long availGuest, long usedGuest, long descUser,
        long availUser, long usedUser, long logGuestAddress) {
    /** VHOST_VRING_F_LOG as a mask: the log address is valid. */
    public static final int F_LOG = 1;

    public VringAddress {
        if (queue < 0) {
            throw new IllegalArgumentException("negative queue index " + queue);
        }
    }
}
