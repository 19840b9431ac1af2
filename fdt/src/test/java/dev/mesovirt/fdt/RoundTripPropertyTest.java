package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** reader(writer(tree)) == tree for seeded random valid trees. */
class RoundTripPropertyTest {

    static final long BASE_SEED = 0x6d65736f76697274L; // "mesovirt"
    static final int TREES = 500;

    @Test
    void randomTreesSurviveWriteThenRead() {
        int nodes = 0;
        int maxDepthSeen = 0;
        for (int i = 0; i < TREES; i++) {
            long seed = BASE_SEED + i;
            RandomTrees.TreeSpec spec = RandomTrees.generate(seed);
            byte[] blob = RandomTrees.write(spec);
            DeviceTree read = DeviceTree.parse(blob);
            assertEquals(RandomTrees.expected(spec), read, "seed " + seed);
            RandomTrees.checkTypedAccessors(spec.root(), read.root());

            List<String> paths = new ArrayList<>();
            RandomTrees.paths("", spec.root(), paths);
            for (String path : paths) {
                FdtNode node = read.node(path);
                String last = path.substring(path.lastIndexOf('/') + 1);
                assertEquals(last, node.name(), "seed " + seed + " path " + path);
            }
            nodes += paths.size();
            maxDepthSeen = Math.max(maxDepthSeen, paths.stream()
                    .mapToInt(p -> p.equals("/") ? 1 : p.split("/").length).max().orElse(1));
        }
        assertTrue(nodes > 5 * TREES, "generator builds non-trivial trees: " + nodes + " nodes");
        assertEquals(FdtWriter.MAX_DEPTH, maxDepthSeen, "some trees reach the depth bound");
    }

    @Test
    void writingIsDeterministic() {
        RandomTrees.TreeSpec spec = RandomTrees.generate(BASE_SEED);
        org.junit.jupiter.api.Assertions.assertArrayEquals(RandomTrees.write(spec), RandomTrees.write(spec));
    }

    @Test
    void parsedTreesAreImmutable() {
        DeviceTree tree = DeviceTree.parse(TestBlobs.virtTree());
        List<FdtNode> children = tree.root().children();
        org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class, () -> children.clear());
        org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> tree.root().properties().clear());
        org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> tree.memoryReservations().clear());
        assertSame(tree.root(), tree.node("/"));
    }
}
