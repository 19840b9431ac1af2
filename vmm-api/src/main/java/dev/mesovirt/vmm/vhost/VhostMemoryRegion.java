package dev.mesovirt.vmm.vhost;

import java.util.OptionalInt;

/**
 * One entry of the memory table a vhost back-end translates guest-physical addresses with (struct
 * vhost_memory_region; VhostUserMemoryRegion plus the descriptor sent along with it).
 *
 * @param guestAddress guest-physical start
 * @param size bytes
 * @param userAddress where the region starts in this process's address space (the kernel back-end reads guest RAM
 *     there; a vhost-user back-end uses it to translate the ring addresses it is given)
 * @param mmapOffset offset of the region in {@code fd}'s file (vhost-user), 0 otherwise
 * @param fd a descriptor of the memory's file for a back-end in another process to map (vhost-user); empty for the
 *     kernel, which shares this process's address space
 */
public record VhostMemoryRegion(long guestAddress, long size, long userAddress, long mmapOffset, OptionalInt fd) {
    public VhostMemoryRegion {
        if (size <= 0 || guestAddress < 0 || guestAddress + size < guestAddress || mmapOffset < 0) {
            throw new IllegalArgumentException("bad vhost memory region at guest 0x" + Long.toHexString(guestAddress)
                    + " size 0x" + Long.toHexString(size));
        }
    }

    /** A region of this process's memory, for the kernel back-end (no file descriptor). */
    public static VhostMemoryRegion anonymous(long guestAddress, long size, long userAddress) {
        return new VhostMemoryRegion(guestAddress, size, userAddress, 0, OptionalInt.empty());
    }

    public long end() {
        return guestAddress + size;
    }
}
