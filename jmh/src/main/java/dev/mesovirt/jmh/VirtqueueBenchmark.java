package dev.mesovirt.jmh;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.virtio.BlockDevice;
import dev.mesovirt.vmm.virtio.DescriptorChain;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.Virtqueue;
import dev.mesovirt.vmm.virtio.VirtioException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * virtio-blk requests per second through Mesovirt's device-side data path, in-process and without KVM: guest RAM is
 * an anonymous mapping ({@link GuestMemory}), the disk a raw image on tmpfs ({@code /dev/shm}), and a driver
 * ({@link BlkQueueDriver}) has put {@value #BATCH} 4 KiB requests in the queue. One invocation is what the device
 * thread does for one queue notification: {@link MmioTransport#notifyQueue} → {@link BlockDevice#process} → for each
 * request {@link Virtqueue#pop} (split-ring parsing and validation), the pread/pwrite between the image and guest
 * RAM, {@link Virtqueue#addUsed}, and the interrupt decision. Before it, the driver side makes the same batch
 * available again ({@link BlkQueueDriver#post}: {@value #BATCH} ring entries and two indices, negligible next to
 * the requests).
 *
 * <p>{@code blk}: the whole request path; {@code queueOnly}: the same chains popped and returned without the
 * device (the split-queue parser alone).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class VirtqueueBenchmark {
    /** Requests per notification (a full queue of 256 holds 85 three-descriptor chains). */
    public static final int BATCH = 64;
    static final int BLOCK = 4096;
    static final int QUEUE = BlockDevice.QUEUE_SIZE;
    static final long RAM = 16L << 20;
    static final long DISK = 64L << 20;
    /** Data buffers per request of {@link ScatteredBlk}: 32 pages, a 128 KiB readahead or writeback request. */
    static final int SEGMENTS = 32;
    /** Room for BATCH requests of SEGMENTS pages a page apart, and the rings. */
    static final long SCATTERED_RAM = 24L << 20;

    /**
     * A virtio-blk device on a tmpfs image behind the virtio-mmio transport, with a driver's queue in guest RAM; one
     * batch has been checked end to end (a wrong set-up would measure an error path).
     */
    static final class BlkRig implements AutoCloseable {
        final GuestMemory memory;
        final Path image;
        final BlockDevice device;
        final MmioTransport transport;
        final BlkQueueDriver driver;
        long interrupts;

        BlkRig(long ram, String diskDir, java.util.function.Function<GuestMemory, BlkQueueDriver> driverOn)
                throws IOException {
            memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0, ram)));
            image = diskImage(diskDir);
            device = new BlockDevice("bench0", image, false, false, null);
            transport = new MmioTransport("bench0", device, memory, () -> interrupts++, queue -> { });
            driver = driverOn.apply(memory);
            driver.initialize(transport);
            int before = driver.usedIdx();
            driver.post();
            transport.notifyQueue(0);
            if (((driver.usedIdx() - before) & 0xffff) != BATCH || driver.status(0) != 0
                    || driver.status(BATCH - 1) != 0) {
                throw new IllegalStateException("the device did not complete the batch: used idx " + driver.usedIdx()
                        + ", status " + driver.status(0) + ", transport status 0x"
                        + Integer.toHexString(transport.status()));
            }
        }

        /** One notification's work: the batch made available again, then the device thread's pass. */
        long serveBatch() {
            driver.post();
            transport.notifyQueue(0);
            return interrupts;
        }

        @Override
        public void close() throws IOException {
            device.close();
            memory.close();
            Files.deleteIfExists(image);
        }
    }

    /** 4 KiB requests, as Linux would send them. */
    @State(Scope.Thread)
    public static class Blk {
        /** read: VIRTIO_BLK_T_IN; write: VIRTIO_BLK_T_OUT. */
        @Param({"read", "write"})
        public String op;

        /** indirect: one descriptor per request pointing to a 3-entry table (Linux's choice); direct: 3 chained. */
        @Param({"indirect", "direct"})
        public String layout;

        /** Where the disk image lives; tmpfs so that the figure is the VMM's path, not a disk's. */
        @Param({"/dev/shm"})
        public String diskDir;

        BlkRig rig;

        @Setup
        public void setUp() throws IOException {
            // Requests spread over the image (every 16th 4 KiB block), as a random-ish workload would touch it.
            rig = new BlkRig(RAM, diskDir, m -> new BlkQueueDriver(m, 0, QUEUE, BATCH, layout.equals("indirect"),
                    op.equals("write"), BLOCK, 8 * 16));
        }

        @TearDown
        public void tearDown() throws IOException {
            rig.close();
        }
    }

    /**
     * Requests as Linux's readahead and writeback send them: {@link #SEGMENTS} scattered 4 KiB pages each (128 KiB),
     * indirect descriptors, over the same device and transport.
     */
    @State(Scope.Thread)
    public static class ScatteredBlk {
        @Param({"read", "write"})
        public String op;

        @Param({"/dev/shm"})
        public String diskDir;

        BlkRig rig;

        @Setup
        public void setUp() throws IOException {
            rig = new BlkRig(SCATTERED_RAM, diskDir, m -> new BlkQueueDriver(m, 0, QUEUE, BATCH, true,
                    op.equals("write"), BLOCK, SEGMENTS * BLOCK / BlockDevice.SECTOR, SEGMENTS));
        }

        @TearDown
        public void tearDown() throws IOException {
            rig.close();
        }
    }

    /** A disk image of {@link #DISK} bytes of a pattern, on tmpfs where there is one. */
    static Path diskImage(String diskDir) throws IOException {
        Path dir = Path.of(diskDir);
        if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
            dir = Path.of(System.getProperty("java.io.tmpdir"));
        }
        Path image = Files.createTempFile(dir, "mesovirt-bench-", ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < chunk.length; i++) {
                chunk[i] = (byte) (i * 7 + 1);
            }
            for (long done = 0; done < DISK; done += chunk.length) {
                f.write(chunk);
            }
        }
        return image;
    }

    /** The same requests in a bare {@link Virtqueue}: no device, no I/O. */
    @State(Scope.Thread)
    public static class Ring {
        @Param({"indirect", "direct"})
        public String layout;

        GuestMemory memory;
        BlkQueueDriver driver;
        Virtqueue queue;

        @Setup
        public void setUp() throws VirtioException {
            memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0, RAM)));
            driver = new BlkQueueDriver(memory, 0, QUEUE, BATCH, layout.equals("indirect"), false, BLOCK, 8);
            queue = new Virtqueue(QUEUE);
            driver.initialize(queue);
        }

        @TearDown
        public void tearDown() {
            memory.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long blk(Blk s) {
        return s.rig.serveBatch();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long blkScattered(ScatteredBlk s) {
        return s.rig.serveBatch();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public boolean queueOnly(Ring s, Blackhole bh) throws VirtioException {
        s.driver.post();
        for (DescriptorChain chain; (chain = s.queue.pop()) != null; ) {
            bh.consume(chain);
            s.queue.addUsed(chain.head(), 1);
        }
        return s.queue.needsInterrupt();
    }
}
