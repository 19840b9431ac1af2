package dev.mesovirt.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The snapshot state file reader (a file on disk that anyone may have altered): a file decodes or fails with a
 * one-line {@link SnapshotException}; what decodes encodes back to the same bytes (the format has one encoding).
 */
class SnapshotFormatFuzzTarget {
    @FuzzTest(maxDuration = "5s")
    void decode(byte[] file) {
        Snapshot s;
        try {
            s = SnapshotFormat.decode(file);
        } catch (SnapshotException e) {
            assertTrue(e.getMessage() != null && e.getMessage().startsWith("snapshot: ")
                    && !e.getMessage().contains("\n"), e.getMessage());
            return;
        }
        assertArrayEquals(file, SnapshotFormat.encode(s));
    }
}
