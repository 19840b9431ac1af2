package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** virtio-rng (virtio 1.2 section 5.4): fills the driver's buffers from a host source such as /dev/urandom. */
public final class RngDevice implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(RngDevice.class);
    static final int MAX_PER_REQUEST = 64 << 10;

    private final String id;
    private final FileChannel source;
    private GuestMemory memory;
    private List<Virtqueue> queues = List.of();
    private QueueInterrupt interrupt;

    public RngDevice(String id, Path source) throws IOException {
        this.id = id;
        this.source = FileChannel.open(source, StandardOpenOption.READ);
    }

    @Override
    public int deviceType() {
        return VirtioIds.TYPE_RNG;
    }

    @Override
    public long features() {
        return 0;
    }

    @Override
    public List<Integer> queueSizes() {
        return List.of(64);
    }

    @Override
    public void readConfig(long offset, byte[] data) {
        java.util.Arrays.fill(data, (byte) 0);
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
    public void process(int index) throws VirtioException {
        if (queues.get(index).serveAvailable(this::fill)) {
            interrupt.usedBuffers(index);
        }
    }

    /** Fills a request's writable buffers (up to MAX_PER_REQUEST bytes) from the source; the bytes it read. */
    private int fill(DescriptorChain chain) {
        int done = 0;
        try {
            outer:
            for (DescriptorChain.Segment s : Segments.range(chain.writable(), 0, MAX_PER_REQUEST)) {
                for (ByteBuffer b : memory.slices(s.address(), s.length())) {
                    while (b.hasRemaining()) {
                        int r = source.read(b);
                        if (r <= 0) {
                            break outer;
                        }
                        done += r;
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("{}: reading the entropy source failed: {}", id, e.getMessage());
        }
        return done;
    }

    @Override
    public void close() {
        try {
            source.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
