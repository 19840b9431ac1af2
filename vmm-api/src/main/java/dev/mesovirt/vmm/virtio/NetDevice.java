package dev.mesovirt.vmm.virtio;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.util.ArrayDeque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * virtio-net (virtio 1.2 section 5.1) on a TAP device, offloads off: no checksum/TSO features, no mergeable
 * receive buffers; the 12-byte virtio_net_hdr is stripped on transmit and a zero one (num_buffers 1) prepended on
 * receive. A reader thread blocks on the TAP fd and queues frames; the device's thread copies them into the
 * guest's receive buffers and writes the guest's frames to the TAP.
 *
 * <p>A TAP opened by someone else (passed as a descriptor, e.g. by Kata Containers, which opens its TAPs with
 * IFF_VNET_HDR, and with IFF_MULTI_QUEUE when it wants queue pairs) is driven as it is: with IFF_VNET_HDR every frame
 * on the TAP carries a virtio_net_hdr of the TAP's header size (TUNGETVNETHDRSZ), which is written as zeros (no
 * offload asked for) and dropped on receive, and the TAP's offloads are switched off (TUNSETOFFLOAD 0) so that the
 * kernel hands over only whole, checksummed frames, as this device's guest expects; a multi-queue TAP is used
 * through the one queue descriptor given.
 */
public final class NetDevice implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(NetDevice.class);
    static final int QUEUE_SIZE = 256;
    static final int F_MAC = 5;
    static final int HDR = 12;
    static final int MAX_FRAME = 65562;
    static final int MAX_QUEUED = 256;
    static final long TUNSETIFF = 0x400454caL;
    /** _IOR('T', 210, unsigned int), linux/if_tun.h. */
    public static final long TUNGETIFF = dev.mesovirt.vmm.sys.Ioctls.ior('T', 210, 4);
    /** _IOW('T', 208, unsigned int): the TAP's offloads (TUN_F_*), 0 for none. */
    public static final long TUNSETOFFLOAD = dev.mesovirt.vmm.sys.Ioctls.iow('T', 208, 4);
    /** _IOR('T', 215, int): the size of the virtio_net_hdr an IFF_VNET_HDR TAP puts before each frame. */
    public static final long TUNGETVNETHDRSZ = dev.mesovirt.vmm.sys.Ioctls.ior('T', 215, 4);
    public static final int IFF_TAP = 0x0002;
    public static final int IFF_NO_PI = 0x1000;
    public static final int IFF_VNET_HDR = 0x4000;
    public static final int IFF_MULTI_QUEUE = 0x0100;
    /** The largest vnet header we accept; Linux's virtio_net_hdr_v1_hash is 20 bytes, and TUNSETVNETHDRSZ allows any. */
    static final int MAX_VNET_HDR = 64;
    /** struct ifreq: the name, then (for TUNSETIFF/TUNGETIFF) the short flags at 16. */
    private static final int IFREQ_SIZE = 40;
    private static final int IFREQ_FLAGS = 16;

    private final String id;
    private final int tapFd;
    /** The virtio_net_hdr bytes before each frame on the TAP: 0 without IFF_VNET_HDR. */
    private final int tapHeader;
    private final byte[] mac;
    private final EventFd rxReady = new EventFd(true);
    private final ArrayDeque<byte[]> rxFrames = new ArrayDeque<>();
    /** The TAP's vnet header (zeros, written once) then a frame. */
    private final Memory txBuffer = new Memory(MAX_VNET_HDR + MAX_FRAME);
    private final EventFd stopReader = new EventFd(true);
    private final Thread reader;
    private volatile boolean closed;
    private GuestMemory memory;
    private List<Virtqueue> queues = List.of();
    private QueueInterrupt interrupt;

    /** Opens TAP {@code ifname} through /dev/net/tun. */
    public static int openTap(String ifname) {
        int fd = Sys.open("/dev/net/tun", LibC.O_RDWR);
        try (Memory ifr = new Memory(IFREQ_SIZE)) {
            ifr.clear();
            byte[] name = ifname.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            if (name.length > 15) {
                Sys.close(fd);
                throw new IllegalArgumentException("TAP name longer than 15 characters: " + ifname);
            }
            ifr.write(0, name, 0, name.length);
            ifr.setShort(IFREQ_FLAGS, (short) (IFF_TAP | IFF_NO_PI));
            Sys.ioctl(fd, TUNSETIFF, ifr, "TUNSETIFF(" + ifname + ")");
        } catch (ErrnoException e) {
            Sys.close(fd);
            throw e;
        }
        return fd;
    }

    /** The TUN/TAP flags of an open /dev/net/tun descriptor (TUNGETIFF); ErrnoException if it is not one. */
    public static int tapFlags(int fd) {
        try (Memory ifr = new Memory(IFREQ_SIZE)) {
            ifr.clear();
            Sys.ioctl(fd, TUNGETIFF, ifr, "TUNGETIFF");
            return ifr.getShort(IFREQ_FLAGS) & 0xffff;
        }
    }

    /**
     * Whether a TUN/TAP descriptor with {@code flags} is one this device drives: a TAP (not a TUN) without packet
     * information before its frames; with or without vnet headers, one queue or several.
     */
    public static boolean drivesTap(int flags) {
        return (flags & IFF_TAP) != 0 && (flags & IFF_NO_PI) != 0;
    }

    /**
     * A device on the open TAP {@code tapFd}, which it owns from now on.
     *
     * @throws IllegalArgumentException if the descriptor is not a TAP this device drives (see {@link #drivesTap});
     *     it is then still the caller's
     */
    public NetDevice(String id, int tapFd, byte[] mac) {
        this.id = id;
        this.tapFd = tapFd;
        try {
            this.tapHeader = tapHeader(id, tapFd);
        } catch (RuntimeException e) {
            rxReady.close(); // the descriptor stays the caller's: the device never took it
            stopReader.close();
            txBuffer.close();
            throw e;
        }
        this.mac = mac.clone();
        txBuffer.clear(MAX_VNET_HDR);
        reader = new Thread(this::readTap, "net-" + id);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * The vnet header size of the TAP, 0 without IFF_VNET_HDR; switches a vnet-header TAP's offloads off, so that
     * no frame arrives that needs the header's checksum or segmentation fields.
     */
    /** The vnet header bytes before each frame on the TAP (0: none), for tests. */
    int tapHeaderBytes() {
        return tapHeader;
    }

    private static int tapHeader(String id, int fd) {
        int flags;
        try {
            flags = tapFlags(fd);
        } catch (ErrnoException e) {
            throw new IllegalArgumentException("device " + id + ": descriptor " + fd + " is not a TAP ("
                    + e.getMessage() + ")");
        }
        if (!drivesTap(flags)) {
            throw new IllegalArgumentException("device " + id + ": descriptor " + fd + " is a " + ((flags & IFF_TAP)
                    != 0 ? "TAP" : "TUN") + " device with flags 0x" + Integer.toHexString(flags)
                    + "; virtio-net needs a TAP opened with IFF_TAP|IFF_NO_PI");
        }
        if ((flags & IFF_VNET_HDR) == 0) {
            return 0;
        }
        Sys.ioctl(fd, TUNSETOFFLOAD, 0L, "TUNSETOFFLOAD(0)");
        try (Memory size = new Memory(4)) {
            Sys.ioctl(fd, TUNGETVNETHDRSZ, size, "TUNGETVNETHDRSZ");
            int n = size.getInt(0);
            if (n < 10 || n > MAX_VNET_HDR) {
                throw new IllegalArgumentException("device " + id + ": the TAP's vnet header size is " + n
                        + " bytes; this device takes 10 to " + MAX_VNET_HDR);
            }
            return n;
        }
    }

    private void readTap() {
        // The reader waits in epoll on the TAP and a stop eventfd, so close() can end it before closing the TAP fd
        // (a read(2) blocked on a closed fd would wake later on whatever file reused its number).
        try (Memory buf = new Memory(MAX_VNET_HDR + MAX_FRAME);
                dev.mesovirt.vmm.sys.Epoll epoll = new dev.mesovirt.vmm.sys.Epoll(2)) {
            epoll.add(tapFd, dev.mesovirt.vmm.sys.Epoll.EPOLLIN, 1);
            epoll.add(stopReader.fd(), dev.mesovirt.vmm.sys.Epoll.EPOLLIN, 2);
            while (!closed) {
                if (epoll.await(-1) <= 0 || closed) {
                    continue;
                }
                long n;
                try {
                    n = LibC.read(tapFd, buf, tapHeader + MAX_FRAME);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == LibC.EINTR || e.getErrorCode() == LibC.EAGAIN) {
                        continue;
                    }
                    if (!closed) {
                        LOG.warn("{}: TAP read failed: {}", id, LibC.strerror(e.getErrorCode()));
                    }
                    return;
                }
                if (n <= 0) {
                    return;
                }
                if (n <= tapHeader) {
                    continue; // a vnet header without a frame: nothing for the guest
                }
                byte[] frame = buf.getByteArray(tapHeader, (int) n - tapHeader);
                synchronized (rxFrames) {
                    if (rxFrames.size() >= MAX_QUEUED) {
                        continue; // the guest is not receiving: drop, as a NIC would
                    }
                    rxFrames.add(frame);
                }
                rxReady.signal();
            }
        }
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_NET;
    }

    @Override
    public long features() {
        return 1L << F_MAC;
    }

    @Override
    public List<Integer> queueSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            long o = offset + i;
            data[i] = o >= 0 && o < 6 ? mac[(int) o] : 0;
        }
    }

    @Override
    public void activate(GuestMemory mem, List<Virtqueue> qs, long ackedFeatures, QueueInterrupt irq) {
        memory = mem;
        queues = qs;
        interrupt = irq;
    }

    @Override
    public void reset() {
        memory = null;
        queues = List.of();
    }

    @Override
    public List<Watch> watches() {
        return List.of(new Watch(rxReady, 0));
    }

    @Override
    public void process(int index) throws VirtioException {
        if (index == 0) {
            receive();
        } else {
            transmit();
        }
    }

    private void receive() throws VirtioException {
        Virtqueue q = queues.get(0);
        boolean any = false;
        byte[] header = new byte[HDR];
        header[10] = 1; // num_buffers
        while (true) {
            byte[] frame;
            synchronized (rxFrames) {
                frame = rxFrames.peek();
            }
            if (frame == null) {
                break;
            }
            DescriptorChain chain = q.pop();
            if (chain == null) {
                break; // the guest's next receive-queue notification brings us back
            }
            synchronized (rxFrames) {
                rxFrames.poll();
            }
            int written = 0;
            if (chain.writableLength() >= HDR + frame.length) {
                byte[] packet = new byte[HDR + frame.length];
                System.arraycopy(header, 0, packet, 0, HDR);
                System.arraycopy(frame, 0, packet, HDR, frame.length);
                written = Segments.scatter(memory, chain.writable(), packet);
            }
            q.addUsed(chain.head(), written);
            any = true;
        }
        if (any) {
            interrupt.usedBuffers(0);
        }
    }

    private void transmit() throws VirtioException {
        if (queues.get(1).serveAvailable(this::send)) {
            interrupt.usedBuffers(1);
        }
    }

    /** Writes one frame to the TAP; a frame too short or too long, or one the TAP refuses, is dropped. */
    private int send(DescriptorChain chain) {
        long total = chain.readableLength();
        if (total > HDR && total - HDR <= MAX_FRAME) {
            int len = (int) (total - HDR);
            byte[] frame = Segments.gather(memory, Segments.range(chain.readable(), HDR, len), len);
            // The frame after the TAP's (zero) vnet header, if it has one: one write, one frame.
            txBuffer.write(MAX_VNET_HDR, frame, 0, len);
            try {
                LibC.write(tapFd, txBuffer.share(MAX_VNET_HDR - tapHeader), tapHeader + len);
            } catch (LastErrorException e) {
                LOG.debug("{}: TAP write failed: {}", id, LibC.strerror(e.getErrorCode()));
            }
        }
        return 0;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopReader.signal();
        try {
            reader.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (reader.isAlive()) {
            LOG.warn("{}: the TAP reader did not stop; leaving the TAP fd to process exit", id);
            return;
        }
        Sys.close(tapFd);
        stopReader.close();
    }
}
