package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class VirtqueueTest {
    /** Two RAM regions with a hole between them, as on x86 (below and above the 32-bit hole). */
    static final long LOW = 0;
    static final long LOW_SIZE = 1 << 20;
    static final long HIGH = 0x4000_0000L;
    static final long HIGH_SIZE = 1 << 20;
    static final long DESC = 0x1000;
    static final long AVAIL = 0x3000;
    static final long USED = 0x4000;

    GuestMemory mem;

    @BeforeEach
    void setUp() {
        mem = GuestMemory.allocate(List.of(new GuestMemory.Region(LOW, LOW_SIZE), new GuestMemory.Region(HIGH, HIGH_SIZE)));
    }

    @AfterEach
    void tearDown() {
        mem.close();
    }

    static void desc(GuestMemory m, long table, int i, long addr, int len, int flags, int next) {
        long d = table + 16L * i;
        m.writeLong(d, addr);
        m.writeInt(d + 8, len);
        m.writeShort(d + 12, (short) flags);
        m.writeShort(d + 14, (short) next);
    }

    static void offer(GuestMemory m, int size, int slot, int head) {
        m.writeShort(AVAIL + 4 + 2L * (slot % size), (short) head);
        m.writeShort(AVAIL + 2, (short) (slot + 1));
    }

    Virtqueue queue(int size, boolean eventIdx, boolean indirect) throws VirtioException {
        Virtqueue q = new Virtqueue(256);
        q.setSize(size);
        q.setDescTable(DESC);
        q.setAvailRing(AVAIL);
        q.setUsedRing(USED);
        q.setReady(true);
        q.activate(mem, eventIdx, indirect);
        return q;
    }

    @Test
    void popsAChainSplitIntoReadableAndWritable() throws Exception {
        Virtqueue q = queue(8, false, false);
        assertNull(q.pop());
        desc(mem, DESC, 3, 0x10000, 16, Virtqueue.DESC_F_NEXT, 5);
        desc(mem, DESC, 5, HIGH + 0x100, 512, Virtqueue.DESC_F_NEXT | Virtqueue.DESC_F_WRITE, 0);
        desc(mem, DESC, 0, 0x20000, 1, Virtqueue.DESC_F_WRITE, 0);
        offer(mem, 8, 0, 3);
        DescriptorChain c = q.pop();
        assertEquals(3, c.head());
        assertEquals(List.of(new DescriptorChain.Segment(0x10000, 16)), c.readable());
        assertEquals(List.of(new DescriptorChain.Segment(HIGH + 0x100, 512), new DescriptorChain.Segment(0x20000, 1)),
                c.writable());
        assertNull(q.pop());
        q.addUsed(3, 513);
        assertEquals(1, mem.readShort(USED + 2));
        assertEquals(3, mem.readInt(USED + 4));
        assertEquals(513, mem.readInt(USED + 8));
        assertTrue(q.needsInterrupt());
        mem.writeShort(AVAIL, (short) Virtqueue.AVAIL_F_NO_INTERRUPT);
        assertFalse(q.needsInterrupt());
    }

    @Test
    void serveAvailableUsesEveryChainWithTheBytesItsHandlerWrote() throws Exception {
        Virtqueue q = queue(8, false, false);
        assertFalse(q.serveAvailable(c -> fail("no chain is available")));
        for (int i = 0; i < 3; i++) {
            desc(mem, DESC, 2 * i, 0x10000 + 0x100L * i, 64, Virtqueue.DESC_F_WRITE, 0);
            offer(mem, 8, i, 2 * i);
        }
        List<Integer> heads = new java.util.ArrayList<>();
        assertTrue(q.serveAvailable(c -> {
            heads.add(c.head());
            return 10 + c.head();
        }));
        assertEquals(List.of(0, 2, 4), heads);
        assertEquals(3, mem.readShort(USED + 2));
        for (int i = 0; i < 3; i++) {
            assertEquals(2 * i, mem.readInt(USED + 4 + 8L * i), "used id " + i);
            assertEquals(10 + 2 * i, mem.readInt(USED + 8 + 8L * i), "used len " + i);
        }
        assertFalse(q.serveAvailable(c -> fail("the ring was drained")));
        // A malformed chain stops the drain with the device's error; the chains before it stay used.
        desc(mem, DESC, 6, 0x20000, 64, Virtqueue.DESC_F_NEXT, 6);
        offer(mem, 8, 3, 6);
        assertThrows(VirtioException.class, () -> q.serveAvailable(c -> 0));
        assertEquals(3, mem.readShort(USED + 2));
    }

    @Test
    void indirectTables() throws Exception {
        Virtqueue q = queue(4, false, true);
        long table = HIGH + 0x800;
        desc(mem, table, 0, 0x10000, 16, Virtqueue.DESC_F_NEXT, 1);
        desc(mem, table, 1, 0x11000, 100, Virtqueue.DESC_F_NEXT | Virtqueue.DESC_F_WRITE, 2);
        desc(mem, table, 2, 0x12000, 1, Virtqueue.DESC_F_WRITE, 0);
        desc(mem, DESC, 2, table, 48, Virtqueue.DESC_F_INDIRECT, 0);
        offer(mem, 4, 0, 2);
        DescriptorChain c = q.pop();
        assertEquals(2, c.head());
        assertEquals(1, c.readable().size());
        assertEquals(2, c.writable().size());
        // Without the feature an indirect descriptor is malformed.
        Virtqueue q2 = queue(4, false, false);
        assertThrows(VirtioException.class, q2::pop);
    }

    @Test
    void rejectsMalformedChains() throws Exception {
        // A loop.
        Virtqueue q = queue(4, false, false);
        desc(mem, DESC, 0, 0x10000, 4, Virtqueue.DESC_F_NEXT, 1);
        desc(mem, DESC, 1, 0x10000, 4, Virtqueue.DESC_F_NEXT, 0);
        offer(mem, 4, 0, 0);
        assertThrows(VirtioException.class, q::pop);
        // A buffer crossing the end of RAM, one in the hole, one wrapping around.
        for (long[] bad : new long[][] {{LOW_SIZE - 8, 16}, {0x2000_0000L, 4}, {-8L, 16}, {HIGH + HIGH_SIZE - 1, 2}}) {
            q = queue(4, false, false);
            desc(mem, DESC, 0, bad[0], (int) bad[1], 0, 0);
            offer(mem, 4, 0, 0);
            assertThrows(VirtioException.class, q::pop, Long.toHexString(bad[0]));
        }
        // Readable after writable; head and next out of range; avail index too far ahead.
        q = queue(4, false, false);
        desc(mem, DESC, 0, 0x10000, 4, Virtqueue.DESC_F_WRITE | Virtqueue.DESC_F_NEXT, 1);
        desc(mem, DESC, 1, 0x10000, 4, 0, 0);
        offer(mem, 4, 0, 0);
        assertThrows(VirtioException.class, q::pop);
        q = queue(4, false, false);
        offer(mem, 4, 0, 4);
        assertThrows(VirtioException.class, q::pop);
        q = queue(4, false, false);
        desc(mem, DESC, 0, 0x10000, 4, Virtqueue.DESC_F_NEXT, 9);
        offer(mem, 4, 0, 0);
        assertThrows(VirtioException.class, q::pop);
        q = queue(4, false, false);
        mem.writeShort(AVAIL + 2, (short) 5);
        assertThrows(VirtioException.class, q::pop);
    }

    @Test
    void queueConfigurationIsValidated() {
        Virtqueue q = new Virtqueue(256);
        q.setSize(3);
        assertThrows(VirtioException.class, () -> q.activate(mem, false, false));
        q.setSize(512);
        assertThrows(VirtioException.class, () -> q.activate(mem, false, false));
        q.setSize(256);
        q.setDescTable(LOW_SIZE - 16);
        assertThrows(VirtioException.class, () -> q.activate(mem, false, false));
        q.setDescTable(8);
        assertThrows(VirtioException.class, () -> q.activate(mem, false, false));
    }

    @Test
    void eventIdxSuppressesInterruptsUntilUsedEvent() throws Exception {
        Virtqueue q = queue(8, true, false);
        for (int i = 0; i < 4; i++) {
            desc(mem, DESC, i, 0x10000, 4, Virtqueue.DESC_F_WRITE, 0);
            offer(mem, 8, i, i);
        }
        mem.writeShort(AVAIL + 4 + 2 * 8, (short) 2); // used_event: interrupt once used idx passes 2
        q.addUsed(0, 4);
        assertTrue(q.needsInterrupt(), "the first decision always signals");
        q.addUsed(1, 4);
        assertFalse(q.needsInterrupt(), "used idx 2 has not passed used_event 2");
        q.addUsed(2, 4);
        assertTrue(q.needsInterrupt(), "used idx 3 passed used_event 2");
        // pop publishes avail_event.
        assertNotNull(q.pop());
        assertEquals(1, mem.readShort(USED + 4 + 8 * 8));
    }

    /**
     * 10^5 random (mostly malformed) queues: random sizes, ring addresses, descriptor tables, indirect tables and
     * available rings, biased towards the edges of RAM. pop() may only return chains lying wholly in RAM or throw
     * VirtioException: a GuestMemoryException (an attempted access outside RAM) or any other exception fails.
     */
    @Test
    void randomMalformedDescriptorTablesNeverEscape() {
        Random r = new Random(0x5EED_F00DL);
        long[] edges = {0, LOW_SIZE - 16, LOW_SIZE - 1, LOW_SIZE, HIGH - 16, HIGH, HIGH + HIGH_SIZE - 16,
                HIGH + HIGH_SIZE, -1L, Long.MAX_VALUE, 0xFFFF_FFF0L, 0x10000};
        int chains = 0;
        int errors = 0;
        for (int iter = 0; iter < 100_000; iter++) {
            int size = 1 << r.nextInt(9); // 1..256
            Virtqueue q = new Virtqueue(256);
            q.setSize(r.nextInt(16) == 0 ? r.nextInt(1000) : size);
            q.setDescTable(r.nextInt(16) == 0 ? edges[r.nextInt(edges.length)] : DESC);
            q.setAvailRing(r.nextInt(16) == 0 ? edges[r.nextInt(edges.length)] : AVAIL);
            q.setUsedRing(r.nextInt(16) == 0 ? edges[r.nextInt(edges.length)] : USED);
            try {
                q.activate(mem, r.nextBoolean(), r.nextBoolean());
            } catch (VirtioException e) {
                errors++;
                continue;
            } catch (Throwable t) {
                fail("activate threw " + t, t);
            }
            int n = Math.min(q.size(), 1 + r.nextInt(8));
            for (int i = 0; i < q.size(); i++) {
                long addr = switch (r.nextInt(4)) {
                    case 0 -> edges[r.nextInt(edges.length)] + r.nextInt(33) - 16;
                    case 1 -> r.nextLong();
                    case 2 -> HIGH + 0x1000; // a plausible indirect table
                    default -> 0x10000 + r.nextInt(0x10000);
                };
                int len = switch (r.nextInt(4)) {
                    case 0 -> r.nextInt();
                    case 1 -> 16 * r.nextInt(40);
                    default -> r.nextInt(4096);
                };
                desc(mem, q.descTable(), i, addr, len, r.nextInt(8), r.nextInt(4) == 0 ? r.nextInt(65536) : r.nextInt(q.size() + 2));
            }
            for (int i = 0; i < 64; i++) { // a random indirect table
                desc(mem, HIGH + 0x1000, i, 0x10000 + r.nextInt(0x100000), r.nextInt(8192), r.nextInt(8), r.nextInt(70));
            }
            for (int i = 0; i < q.size(); i++) {
                mem.writeShort(q.availRing() + 4 + 2L * i, (short) (r.nextInt(8) == 0 ? r.nextInt(65536) : r.nextInt(q.size())));
            }
            mem.writeShort(q.availRing() + 2, (short) (r.nextInt(8) == 0 ? r.nextInt(65536) : n));
            mem.writeShort(q.availRing() + 4 + 2L * q.size(), (short) r.nextInt(65536));
            try {
                for (int k = 0; k <= q.size() + 1; k++) {
                    DescriptorChain c = q.pop();
                    if (c == null) {
                        break;
                    }
                    chains++;
                    for (DescriptorChain.Segment s : c.readable()) {
                        assertTrue(mem.contains(s.address(), s.length()), "readable segment outside RAM");
                    }
                    for (DescriptorChain.Segment s : c.writable()) {
                        assertTrue(mem.contains(s.address(), s.length()), "writable segment outside RAM");
                    }
                    q.addUsed(c.head(), 0);
                    q.needsInterrupt();
                }
            } catch (VirtioException e) {
                errors++;
            } catch (Throwable t) {
                fail("iteration " + iter + ": " + t, t);
            }
        }
        assertTrue(chains > 1000 && errors > 1000, "both valid chains (" + chains + ") and errors (" + errors + ")");
    }
}
