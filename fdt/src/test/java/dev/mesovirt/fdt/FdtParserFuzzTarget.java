package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

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
        FdtReaderFuzzTest.exercise(tree); // every node found by its path, every accessor answers or throws
    }
}
