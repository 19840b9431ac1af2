package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * virtio-console (virtio 1.2 section 5.3) with one port and no multiport: the guest's /dev/hvc0. Queue 0 (receiveq)
 * carries host → guest bytes, queue 1 (transmitq) guest → host. The backend ({@link ConsoleBackend}) reads on its
 * own thread and hands bytes over here; they reach the guest on the device's thread as receive buffers allow.
 */
public final class ConsoleDevice implements VirtioDevice, ConsoleBackend.Sink {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleDevice.class);
    static final int QUEUE_SIZE = 64;
    static final int MAX_PENDING = 64 << 10;

    private final String id;
    private final ConsoleBackend backend;
    private final EventFd inputReady = new EventFd(true);
    private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    private int pendingBytes;
    private int firstOffset;
    private GuestMemory memory;
    private List<Virtqueue> queues = List.of();
    private QueueInterrupt interrupt;

    public ConsoleDevice(String id, ConsoleBackend backend) {
        this.id = id;
        this.backend = backend;
        backend.start(this);
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_CONSOLE;
    }

    @Override
    public long features() {
        return 0; // no F_SIZE, no F_MULTIPORT: a single console port
    }

    @Override
    public List<Integer> queueSizes() {
        return List.of(QUEUE_SIZE, QUEUE_SIZE);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0); // cols, rows, max_nr_ports: unused without their features
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
        return List.of(new Watch(inputReady, 0));
    }

    /** Called by the backend's reader thread; blocks while too much input is waiting for the guest. */
    @Override
    public void input(byte[] data) {
        synchronized (pending) {
            while (pendingBytes > MAX_PENDING) {
                try {
                    pending.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            pending.add(data);
            pendingBytes += data.length;
        }
        inputReady.signal();
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
        while (true) {
            synchronized (pending) {
                if (pending.isEmpty()) {
                    break;
                }
            }
            DescriptorChain chain = q.pop();
            if (chain == null) {
                break; // the guest's next receive-queue notification brings us back
            }
            int written = 0;
            synchronized (pending) {
                for (DescriptorChain.Segment s : chain.writable()) {
                    int room = s.length();
                    long addr = s.address();
                    while (room > 0 && !pending.isEmpty()) {
                        byte[] head = pending.peek();
                        int n = Math.min(room, head.length - firstOffset);
                        memory.write(addr, head, firstOffset, n);
                        addr += n;
                        room -= n;
                        written += n;
                        firstOffset += n;
                        pendingBytes -= n;
                        if (firstOffset == head.length) {
                            pending.poll();
                            firstOffset = 0;
                        }
                    }
                }
                pending.notifyAll();
            }
            q.addUsed(chain.head(), written);
            any = true;
        }
        if (any) {
            interrupt.usedBuffers(0);
        }
    }

    private void transmit() throws VirtioException {
        if (queues.get(1).serveAvailable(this::output)) {
            interrupt.usedBuffers(1);
        }
    }

    /** Hands a transmit request's buffers to the backend; output it cannot take is dropped, as a UART would. */
    private int output(DescriptorChain chain) {
        for (DescriptorChain.Segment s : chain.readable()) {
            for (ByteBuffer b : memory.slices(s.address(), s.length())) {
                try {
                    backend.output(b);
                } catch (IOException e) {
                    LOG.debug("{}: output dropped: {}", id, e.getMessage());
                }
            }
        }
        return 0;
    }

    @Override
    public void close() {
        backend.close();
        inputReady.close(); // one descriptor per device: a closed device must not keep it
    }
}
