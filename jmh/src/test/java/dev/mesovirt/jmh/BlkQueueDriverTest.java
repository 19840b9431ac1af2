package dev.mesovirt.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.virtio.BlockDevice;
import dev.mesovirt.vmm.virtio.DescriptorChain;
import dev.mesovirt.vmm.virtio.MmioTransport;
import dev.mesovirt.vmm.virtio.Virtqueue;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The benchmark's driver side builds queues the real device serves correctly, batch after batch. */
class BlkQueueDriverTest {
    private static final int N = 8;
    private static final int BLOCK = 4096;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void readsAndWritesGoThroughTheRealDevice(boolean indirect) throws Exception {
        Path image = tmp.resolve("disk.img");
        byte[] disk = new byte[1 << 20];
        for (int i = 0; i < disk.length; i++) {
            disk[i] = (byte) (i / BLOCK + i);
        }
        Files.write(image, disk);
        try (GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 4L << 20)));
                BlockDevice reader = new BlockDevice("r", image, false, false, null);
                BlockDevice writer = new BlockDevice("w", image, false, false, null)) {
            int[] interrupts = new int[1];
            MmioTransport readQueue = new MmioTransport("r", reader, mem, () -> interrupts[0]++, q -> { });
            BlkQueueDriver reads = new BlkQueueDriver(mem, 0, BlockDevice.QUEUE_SIZE, N, indirect, false, BLOCK, 16);
            reads.initialize(readQueue);
            for (int batch = 1; batch <= 3; batch++) {
                reads.post();
                readQueue.notifyQueue(0);
                assertEquals(batch * N, reads.usedIdx(), "every request of the batch completed");
                assertEquals(batch, interrupts[0], "one interrupt per batch");
            }
            for (int i = 0; i < N; i++) {
                assertEquals(0, reads.status(i));
                int at = i * 16 * 512;
                assertArrayEquals(java.util.Arrays.copyOfRange(disk, at, at + BLOCK), mem.read(reads.dataAddress(i), BLOCK));
            }

            MmioTransport writeQueue = new MmioTransport("w", writer, mem, () -> { }, q -> { });
            BlkQueueDriver writes = new BlkQueueDriver(mem, reads.end(), BlockDevice.QUEUE_SIZE, N, indirect, true, BLOCK, 8);
            writes.initialize(writeQueue);
            byte[] pattern = new byte[BLOCK];
            java.util.Arrays.fill(pattern, (byte) 0x5a);
            for (int i = 0; i < N; i++) {
                mem.write(writes.dataAddress(i), pattern);
            }
            writes.post();
            writeQueue.notifyQueue(0);
            assertEquals(N, writes.usedIdx());
            byte[] after = Files.readAllBytes(image);
            for (int i = 0; i < N; i++) {
                assertEquals(0, writes.status(i));
                assertArrayEquals(pattern, java.util.Arrays.copyOfRange(after, i * 8 * 512, i * 8 * 512 + BLOCK));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void theParserSeesLinuxShapedChains(boolean indirect) throws Exception {
        try (GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 4L << 20)))) {
            BlkQueueDriver d = new BlkQueueDriver(mem, 0, 256, 64, indirect, false, BLOCK, 8);
            Virtqueue q = new Virtqueue(256);
            d.initialize(q);
            for (int round = 0; round < 1100; round++) { // past the 16-bit index wrap
                d.post();
                for (int i = 0; i < 64; i++) {
                    DescriptorChain c = q.pop();
                    assertEquals(d.head(i), c.head());
                    assertEquals(16, c.readableLength());
                    assertEquals(BLOCK + 1, c.writableLength());
                    q.addUsed(c.head(), BLOCK + 1);
                }
                assertNull(q.pop());
            }
        }
    }

    @org.junit.jupiter.api.Test
    void tooManyDirectRequestsAreRefused() {
        try (GuestMemory mem = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 4L << 20)))) {
            assertThrows(IllegalArgumentException.class, () -> new BlkQueueDriver(mem, 0, 256, 86, false, false, BLOCK, 8));
        }
    }
}
