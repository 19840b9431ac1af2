package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.vhost.VhostVsock;
import dev.mesovirt.vmm.virtio.BlockSizes;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A virtio device as -drive/-device/-object/-netdev (or QMP's blockdev-add/netdev_add + device_add) give it: its
 * backend and what the guest sees of it. Both machines build their devices from these; how a device reaches the guest
 * (a virtio-mmio slot, a PCI function) is the machine's, with {@link #placement()} saying where when it matters.
 */
public sealed interface VirtioConfig {
    /** The device's id (-device id=), unique in the machine. */
    String id();

    /** Where the device goes; empty: the machine's next free place (the microVM's command-line devices). */
    Optional<DevicePlacement> placement();

    /**
     * virtio-blk on a raw image (a regular file, or a host block device added with QMP's host_device driver).
     *
     * @param direct  open the image with O_DIRECT (bypassing the host page cache)
     * @param serial  the get-id answer (default: the drive id)
     * @param noFlush the guest's flushes succeed without an fdatasync (QEMU's cache.no-flush=on)
     * @param sizes   the sector sizes the guest is told (QEMU's logical_block_size, physical_block_size)
     */
    record Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial,
            Optional<DevicePlacement> placement, boolean noFlush, BlockSizes sizes) implements VirtioConfig {
        public Block {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(serial, "serial");
            Objects.requireNonNull(placement, "placement");
            Objects.requireNonNull(sizes, "sizes");
        }

        /** A block device with flushes and the default sector sizes. */
        public Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial,
                Optional<DevicePlacement> placement) {
            this(id, file, readOnly, direct, serial, placement, false, BlockSizes.DEFAULT);
        }

        /** A block device in the machine's next free place. */
        public Block(String id, Path file, boolean readOnly, boolean direct, Optional<String> serial) {
            this(id, file, readOnly, direct, serial, Optional.empty());
        }
    }

    /** virtio-rng reading from {@code source} (e.g. /dev/urandom). */
    record Rng(String id, Path source, Optional<DevicePlacement> placement) implements VirtioConfig {
        public Rng {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(placement, "placement");
        }

        /** An RNG in the machine's next free place. */
        public Rng(String id, Path source) {
            this(id, source, Optional.empty());
        }
    }

    /**
     * virtio-console with one port (/dev/hvc0 in the guest): -device virtio-serial-device + -device virtconsole.
     *
     * @param id the virtio-serial-device's id
     * @param socketPath a UNIX socket to listen on (-chardev socket,path=,server,nowait); empty: stdio
     */
    record Console(String id, Optional<Path> socketPath, Optional<DevicePlacement> placement) implements VirtioConfig {
        public Console {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(socketPath, "socketPath");
            Objects.requireNonNull(placement, "placement");
        }

        /** A console in the machine's next free place. */
        public Console(String id, Optional<Path> socketPath) {
            this(id, socketPath, Optional.empty());
        }
    }

    /**
     * virtio-net on a TAP device: opened by name through /dev/net/tun, or an inherited open fd (-netdev tap,fds=).
     *
     * @param ifname the TAP's name, or empty when {@code fd} is given
     * @param fd an open TAP fd, or -1
     * @param mac the MAC address the guest is given
     */
    record Net(String id, Optional<String> ifname, int fd, MacAddress mac,
            Optional<DevicePlacement> placement) implements VirtioConfig {
        public Net {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(ifname, "ifname");
            Objects.requireNonNull(mac, "mac");
            Objects.requireNonNull(placement, "placement");
            if (ifname.isEmpty() == (fd < 0)) {
                throw new IllegalArgumentException("a net device needs either a TAP name or an fd");
            }
        }

        /** A NIC in the machine's next free place. */
        public Net(String id, Optional<String> ifname, int fd, MacAddress mac) {
            this(id, ifname, fd, mac, Optional.empty());
        }
    }

    /**
     * virtio-vsock through the kernel's vhost-vsock: the guest's context ID, on {@code /dev/vhost-vsock} or an open
     * descriptor of it the caller passed (vhostfd=).
     *
     * @param guestCid 3 .. 2^32-2
     * @param vhostFd an open /dev/vhost-vsock descriptor, or -1 to open the device node
     */
    record Vsock(String id, long guestCid, int vhostFd, Optional<DevicePlacement> placement) implements VirtioConfig {
        public Vsock {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(placement, "placement");
            VhostVsock.checkCid(guestCid);
        }
    }

    /**
     * virtio-fs served by a vhost-user back-end (virtiofsd) on a UNIX socket (-chardev socket + -device
     * vhost-user-fs-device or vhost-user-fs-pci). Guest RAM must be shared ({@link MachineConfig#sharedMemory()}).
     *
     * @param socket the back-end's socket
     * @param server listen at {@code socket} and wait for the back-end to connect (chardev server=on), rather than
     *     connect to it
     * @param tag the name the guest mounts (mount -t virtiofs TAG DIR), 1 to 36 bytes of UTF-8
     * @param queueSize the size of each queue, a power of two up to 1024 (QEMU's queue-size, default 128)
     * @param requestQueues request queues besides the high-priority one (QEMU's num-request-queues, default 1)
     */
    record Fs(String id, Path socket, boolean server, String tag, int queueSize, int requestQueues,
            Optional<DevicePlacement> placement) implements VirtioConfig {
        public static final int MAX_TAG_BYTES = 36;
        public static final int MAX_QUEUE_SIZE = 1024;
        public static final int DEFAULT_QUEUE_SIZE = 128;
        /** Queues a virtio device may have beyond the high-priority one (QEMU's VIRTIO_QUEUE_MAX is 1024). */
        public static final int MAX_REQUEST_QUEUES = 1023;

        public Fs {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(socket, "socket");
            Objects.requireNonNull(tag, "tag");
            Objects.requireNonNull(placement, "placement");
            int tagBytes = tag.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (tagBytes == 0 || tagBytes > MAX_TAG_BYTES) {
                throw new IllegalArgumentException("device " + id + ": the tag must have 1 to " + MAX_TAG_BYTES
                        + " bytes, not " + tagBytes);
            }
            if (queueSize < 1 || queueSize > MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1) {
                throw new IllegalArgumentException("device " + id + ": queue-size " + queueSize
                        + " is not a power of two from 1 to " + MAX_QUEUE_SIZE);
            }
            if (requestQueues < 1 || requestQueues > MAX_REQUEST_QUEUES) {
                throw new IllegalArgumentException("device " + id + ": num-request-queues " + requestQueues
                        + " is not from 1 to " + MAX_REQUEST_QUEUES);
            }
        }
    }
}
