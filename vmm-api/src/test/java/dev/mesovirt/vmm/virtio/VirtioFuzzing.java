package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;

/**
 * Drives a virtio device the way a hostile guest would, from a fuzzer's input: it writes guest memory (rings,
 * descriptor tables, buffers) and the transport's registers, then kicks queues. The memory is small on purpose (two
 * 64 KiB regions with a hole between them, as below and above x86's 32-bit hole) so that random addresses often land
 * in RAM, in the hole or past the end. Nothing the guest does may make the transport throw: bad input marks the
 * device DEVICE_NEEDS_RESET ({@link TransportCore}); any exception escaping, including an access outside guest
 * memory, is a finding, and so is a hang (Jazzer's per-input timeout).
 */
final class VirtioFuzzing {
    static final long LOW = 0;
    static final long HIGH = 0x3_0000L;
    static final long REGION = 0x1_0000L;
    /** Addresses the fuzzer picks from: both regions, the hole and a little beyond. */
    static final long SPAN = HIGH + 2 * REGION;

    private VirtioFuzzing() {}

    static GuestMemory memory() {
        return GuestMemory.allocate(List.of(new GuestMemory.Region(LOW, REGION), new GuestMemory.Region(HIGH, REGION)));
    }

    /** Clears what the previous input left, so that each input is replayable on its own. */
    static void wipe(GuestMemory mem) {
        mem.zero(LOW, REGION);
        mem.zero(HIGH, REGION);
    }

    /** An address in RAM most of the time (the hole and past the end otherwise), as a guest driver picks. */
    static long address(FuzzedDataProvider data) {
        return data.consumeLong(0, SPAN);
    }

    /** Writes {@code bytes} at {@code address}, clipped to the RAM it lands in (the guest can write nothing else). */
    static void poke(GuestMemory mem, long address, byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (mem.contains(address + i, 1)) {
                mem.writeByte(address + i, bytes[i]);
            }
        }
    }

    /** The register accesses and memory writes a guest makes, interleaved with kicks, until the input runs out. */
    static void drive(MmioTransport t, GuestMemory mem, FuzzedDataProvider data) {
        wipe(mem);
        t.reset();
        int queues = t.queueCount();
        int steps = 0;
        // Bounded: each step consumes input, and the input is finite; the cap only keeps one input's time short.
        while (data.remainingBytes() > 0 && steps++ < 256) {
            switch (data.consumeInt(0, 9)) {
                case 0, 1 -> write(t, data.consumeInt(0, 0x1ff), data.pickValue(new int[] {1, 2, 4, 4, 4, 8}),
                        data.consumeLong());
                case 2 -> t.read(data.consumeInt(0, 0x1ff), new byte[data.pickValue(new int[] {1, 2, 4, 8})]);
                case 3 -> poke(mem, address(data), data.consumeBytes(data.consumeInt(1, 64)));
                case 4 -> descriptor(mem, data);
                case 5 -> publish(mem, data);
                case 6 -> t.notifyQueue(data.consumeInt(0, queues));
                case 7 -> initialise(t, data);
                case 8 -> t.resample();
                default -> t.notifyQueue(0);
            }
        }
        for (int q = 0; q < queues; q++) {
            t.notifyQueue(q);
        }
        // Whatever happened, the device is either running or waiting for a reset, and a reset always works.
        t.reset();
        assertTrue(!t.isLive(), "live after a reset");
    }

    /** Publishes heads on an avail ring somewhere (the driver's side of the split ring). */
    static void publish(GuestMemory mem, FuzzedDataProvider data) {
        long avail = data.consumeLong(0, SPAN);
        int count = data.consumeInt(1, 4);
        int idx = mem.contains(avail + 2, 2) ? Short.toUnsignedInt(mem.readShort(avail + 2)) : 0;
        for (int i = 0; i < count; i++) {
            long slot = avail + 4 + 2L * ((idx + i) % 256);
            if (mem.contains(slot, 2)) {
                mem.writeShort(slot, (short) data.consumeInt(0, 300));
            }
        }
        if (mem.contains(avail + 2, 2)) {
            mem.writeShort(avail + 2, (short) (idx + count));
        }
    }

    /** A descriptor anywhere: an address in RAM or any, a length, flags, next. */
    static void descriptor(GuestMemory mem, FuzzedDataProvider data) {
        long table = address(data);
        int index = data.consumeInt(0, 300);
        long d = table + 16L * index;
        if (mem.contains(d, 16)) {
            mem.writeLong(d, data.consumeBoolean() ? address(data) : data.consumeLong());
            mem.writeInt(d + 8, data.consumeBoolean() ? data.consumeInt(0, 4096) : data.consumeInt());
            mem.writeShort(d + 12, (short) data.consumeInt(0, 7));
            mem.writeShort(d + 14, (short) data.consumeInt(0, 300));
        }
    }

    /** The Linux driver's initialisation (virtio_mmio.c), with the negotiated features and rings from the input. */
    private static void initialise(MmioTransport t, FuzzedDataProvider data) {
        write(t, 0x70, 4, 0);
        write(t, 0x70, 4, 1);
        write(t, 0x70, 4, 3);
        t.read(0x10, new byte[4]);
        long features = data.consumeLong();
        write(t, 0x24, 4, 0);
        write(t, 0x20, 4, features);
        write(t, 0x24, 4, 1);
        write(t, 0x20, 4, features >>> 32);
        write(t, 0x70, 4, 11);
        for (int q = 0; q < t.queueCount(); q++) {
            write(t, 0x30, 4, q);
            write(t, 0x38, 4, data.pickValue(new int[] {1, 2, 4, 8, 16, 128, 256, 3, 0, 1024}));
            for (int reg : new int[] {0x80, 0x90, 0xa0}) {
                long a = data.consumeBoolean() ? address(data) & ~0xfL : data.consumeLong();
                write(t, reg, 4, a);
                write(t, reg + 4, 4, a >>> 32);
            }
            write(t, 0x44, 4, 1);
        }
        write(t, 0x70, 4, data.consumeBoolean() ? 15 : data.consumeInt(0, 255));
    }

    private static void write(MmioTransport t, long offset, int size, long value) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (value >>> (8 * i));
        }
        t.write(offset, b);
    }
}
