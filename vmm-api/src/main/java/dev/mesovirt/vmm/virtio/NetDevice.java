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
    static final long TUNGETIFF = dev.mesovirt.vmm.sys.Ioctls.ior('T', 210, 4);
    public static final int IFF_TAP = 0x0002;
    public static final int IFF_NO_PI = 0x1000;
    public static final int IFF_VNET_HDR = 0x4000;
    /** struct ifreq: the name, then (for TUNSETIFF/TUNGETIFF) the short flags at 16. */
    private static final int IFREQ_SIZE = 40;
    private static final int IFREQ_FLAGS = 16;

    private final String id;
    private final int tapFd;
    private final byte[] mac;
    private final EventFd rxReady = new EventFd(true);
    private final ArrayDeque<byte[]> rxFrames = new ArrayDeque<>();
    private final Memory txBuffer = new Memory(MAX_FRAME);
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
     * Whether a TUN/TAP descriptor with {@code flags} is one this device drives: what {@link #openTap} opens, a TAP
     * without packet information or vnet headers in its frames.
     */
    public static boolean drivesTap(int flags) {
        return (flags & IFF_TAP) != 0 && (flags & IFF_NO_PI) != 0 && (flags & IFF_VNET_HDR) == 0;
    }

    public NetDevice(String id, int tapFd, byte[] mac) {
        this.id = id;
        this.tapFd = tapFd;
        this.mac = mac.clone();
        reader = new Thread(this::readTap, "net-" + id);
        reader.setDaemon(true);
        reader.start();
    }

    private void readTap() {
        // The reader waits in epoll on the TAP and a stop eventfd, so close() can end it before closing the TAP fd
        // (a read(2) blocked on a closed fd would wake later on whatever file reused its number).
        try (Memory buf = new Memory(MAX_FRAME); dev.mesovirt.vmm.sys.Epoll epoll = new dev.mesovirt.vmm.sys.Epoll(2)) {
            epoll.add(tapFd, dev.mesovirt.vmm.sys.Epoll.EPOLLIN, 1);
            epoll.add(stopReader.fd(), dev.mesovirt.vmm.sys.Epoll.EPOLLIN, 2);
            while (!closed) {
                if (epoll.await(-1) <= 0 || closed) {
                    continue;
                }
                long n;
                try {
                    n = LibC.read(tapFd, buf, MAX_FRAME);
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
                byte[] frame = buf.getByteArray(0, (int) n);
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
        Virtqueue q = queues.get(1);
        boolean any = false;
        for (int n = 0; n < 65536; n++) {
            DescriptorChain chain = q.pop();
            if (chain == null) {
                break;
            }
            long total = chain.readableLength();
            if (total > HDR && total - HDR <= MAX_FRAME) {
                int len = (int) (total - HDR);
                byte[] frame = Segments.gather(memory, Segments.range(chain.readable(), HDR, len), len);
                txBuffer.write(0, frame, 0, len);
                try {
                    LibC.write(tapFd, txBuffer, len);
                } catch (LastErrorException e) {
                    LOG.debug("{}: TAP write failed: {}", id, LibC.strerror(e.getErrorCode()));
                }
            }
            q.addUsed(chain.head(), 0);
            any = true;
        }
        if (any) {
            interrupt.usedBuffers(1);
        }
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
