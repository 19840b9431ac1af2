package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Feeds 10,000 random and mutated blobs to the reader: each must either parse or fail with
 * {@link FdtFormatException}; accessors on a parsed tree likewise. Seeded, so failures reproduce.
 */
class FdtReaderFuzzTest {

    static final long SEED = 0xfd7_5eedL;
    static final int ITERATIONS = 10_000;

    private static final int[] INTERESTING = {0, 1, 2, 3, 4, 8, 9, 16, 17, 18, 39, 40, 0x7fff_ffff, 0x8000_0000,
            0xffff_ffff, 0xffff_fffc, 0xd00dfeed};

    @Test
    void readerOnlyEverThrowsFdtFormatException() {
        Random random = new Random(SEED);
        List<byte[]> corpus = new ArrayList<>();
        FdtWriter empty = new FdtWriter();
        empty.endNode(empty.beginNode(""));
        corpus.add(empty.finish());
        corpus.add(TestBlobs.smallTree());
        corpus.add(TestBlobs.virtTree());
        for (int i = 0; i < 8; i++) {
            corpus.add(RandomTrees.write(RandomTrees.generate(SEED + i)));
        }

        int parsed = 0;
        int rejected = 0;
        Set<String> distinctErrors = new HashSet<>();
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] base = corpus.get(random.nextInt(corpus.size()));
            int strategy = random.nextInt(8);
            byte[] blob = mutate(random, strategy, base, corpus);
            try {
                DeviceTree tree = DeviceTree.parse(blob);
                exercise(tree);
                parsed++;
            } catch (FdtFormatException e) {
                rejected++;
                String message = e.getMessage();
                distinctErrors.add(message.substring(message.indexOf(':') + 1).replaceAll("[0-9a-fx\"]+", "#"));
            } catch (Throwable t) {
                fail("iteration " + i + " (strategy " + strategy + ") threw " + t + " for blob "
                        + java.util.HexFormat.of().formatHex(blob), t);
            }
        }
        assertTrue(parsed > 200, "some mutants still parse: " + parsed);
        assertTrue(rejected > 5000, "most mutants are rejected: " + rejected);
        assertTrue(distinctErrors.size() > 15, "mutants reach many checks: " + distinctErrors);
    }

    private static byte[] mutate(Random random, int strategy, byte[] base, List<byte[]> corpus) {
        byte[] blob = base.clone();
        switch (strategy) {
            case 0 -> { // pure noise
                blob = new byte[random.nextInt(200)];
                random.nextBytes(blob);
            }
            case 1 -> { // noise behind a plausible header
                blob = new byte[40 + random.nextInt(200)];
                random.nextBytes(blob);
                ByteBuffer b = ByteBuffer.wrap(blob);
                b.putInt(0, 0xd00dfeed).putInt(4, blob.length).putInt(20, 17).putInt(24, 16);
                for (int field = 8; field <= 36; field += 4) {
                    if (field != 20 && field != 24 && field != 28) {
                        b.putInt(field, random.nextInt(blob.length + 8) & ~(random.nextBoolean() ? 3 : 0));
                    }
                }
            }
            case 2 -> { // flip a few bytes anywhere
                int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    blob[random.nextInt(blob.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 3 -> { // an interesting value in a header field
                int field = 4 * (1 + random.nextInt(9));
                int value = random.nextBoolean() ? INTERESTING[random.nextInt(INTERESTING.length)]
                        : random.nextInt(blob.length + 16);
                ByteBuffer.wrap(blob).putInt(field, value);
            }
            case 4 -> { // truncate, sometimes with a matching totalsize
                blob = Arrays.copyOf(blob, random.nextInt(blob.length));
                if (blob.length >= 8 && random.nextBoolean()) {
                    ByteBuffer.wrap(blob).putInt(4, blob.length);
                }
            }
            case 5 -> { // a token-like or interesting word at an aligned offset after the header
                int words = (blob.length - 40) / 4;
                int offset = 40 + 4 * random.nextInt(words);
                int value = random.nextInt(3) == 0 ? INTERESTING[random.nextInt(INTERESTING.length)]
                        : new int[] {1, 2, 3, 4, 9, 5}[random.nextInt(6)];
                ByteBuffer.wrap(blob).putInt(offset, value);
            }
            case 6 -> { // splice a slice of another blob in
                byte[] other = corpus.get(random.nextInt(corpus.size()));
                int from = random.nextInt(other.length);
                int length = Math.min(other.length - from, 1 + random.nextInt(64));
                int to = random.nextInt(blob.length);
                System.arraycopy(other, from, blob, to, Math.min(length, blob.length - to));
            }
            default -> { // delete or duplicate a 4-byte word in the body and fix up totalsize
                int offset = 40 + 4 * random.nextInt((blob.length - 40) / 4);
                byte[] changed;
                if (random.nextBoolean()) {
                    changed = new byte[blob.length - 4];
                    System.arraycopy(blob, 0, changed, 0, offset);
                    System.arraycopy(blob, offset + 4, changed, offset, blob.length - offset - 4);
                } else {
                    changed = new byte[blob.length + 4];
                    System.arraycopy(blob, 0, changed, 0, offset + 4);
                    System.arraycopy(blob, offset, changed, offset + 4, blob.length - offset);
                }
                blob = changed;
                ByteBuffer.wrap(blob).putInt(4, blob.length);
            }
        }
        return blob;
    }

    /** Walks a successfully parsed tree through every read API (also the Jazzer target's check). */
    static void exercise(DeviceTree tree) {
        tree.memoryReservations().forEach(r -> r.overlaps(r));
        walk(tree, tree.root(), "/");
    }

    private static void walk(DeviceTree tree, FdtNode node, String path) {
        if (tree.find(path).isEmpty()) {
            throw new AssertionError("path " + path + " not found");
        }
        for (FdtProperty property : node.properties()) {
            for (Runnable accessor : List.<Runnable>of(property::asU32, property::asU64, property::asU32Array,
                    property::asU64Array, property::asString, property::asStringList, property::toString)) {
                try {
                    accessor.run();
                } catch (FdtFormatException expected) {
                    // fine: the value simply is not of that shape
                }
            }
        }
        for (FdtNode child : node.children()) {
            walk(tree, child, (path.equals("/") ? "/" : path + "/") + child.name());
        }
    }
}
