package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * The flattened device tree reader (a user's -dtb, or a blob read back): a blob parses or fails with
 * {@link FdtFormatException}; every node of a parsed tree is found by its path and every property accessor either
 * answers or fails with that exception.
 */
class FdtParserFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void parse(byte[] blob) {
        DeviceTree tree;
        try {
            tree = DeviceTree.parse(blob);
        } catch (FdtFormatException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            return;
        }
        tree.memoryReservations().forEach(r -> r.overlaps(r));
        walk(tree, tree.root(), "/");
    }

    private static void walk(DeviceTree tree, FdtNode node, String path) {
        assertTrue(tree.find(path).isPresent(), "path " + path + " not found");
        for (FdtProperty property : node.properties()) {
            for (Runnable accessor : List.<Runnable>of(property::asU32, property::asU64, property::asU32Array,
                    property::asU64Array, property::asString, property::asStringList, property::toString)) {
                try {
                    accessor.run();
                } catch (FdtFormatException expected) {
                    // the value is not of that shape
                }
            }
        }
        for (FdtNode child : node.children()) {
            walk(tree, child, (path.equals("/") ? "/" : path + "/") + child.name());
        }
    }
}
