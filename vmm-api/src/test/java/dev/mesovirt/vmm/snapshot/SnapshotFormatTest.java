package dev.mesovirt.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotFormatTest {
    private static Snapshot sample() {
        return Snapshot.of("x86_64", "microvm", 2, 64L << 20, List.of(
                new Section("vcpu0", 1, new byte[] {1, 2, 3}),
                new Section("vcpu1", 1, new byte[0]),
                new Section("serial0", 3, new StateWriter().u8(7).u16(0x1234).u32(-1).u64(Long.MIN_VALUE)
                        .bool(true).string("é").bytes(new byte[] {9}).toByteArray())));
    }

    /**
     * The seeds ci/tests/snapshot.sh restores from to check the one-line refusal of another ISA's snapshot: valid
     * files, each what this VMM writes for a 2-vCPU, 256 MiB microVM of that ISA (before its sections).
     */
    @Test
    void theOtherIsaSeedsAreValidHeaders() throws Exception {
        for (String isa : List.of("x86_64", "aarch64")) {
            byte[] file;
            try (var in = getClass().getResourceAsStream("SnapshotFormatFuzzTargetInputs/decode/header-" + isa)) {
                file = in.readAllBytes();
            }
            Snapshot s = SnapshotFormat.decode(file);
            assertEquals(new SnapshotHeader(isa, "microvm", 2, 256L << 20, List.of()), s.header());
            assertArrayEquals(file, SnapshotFormat.encode(s));
            SnapshotException e = assertThrows(SnapshotException.class,
                    () -> s.requireMachine("riscv64", "microvm", 2, 256L << 20));
            assertEquals("snapshot: taken on " + isa + ", this VMM runs riscv64", e.getMessage());
        }
    }

    @Test
    void roundTrips() {
        Snapshot s = sample();
        Snapshot back = SnapshotFormat.decode(SnapshotFormat.encode(s));
        assertEquals(s, back);
        StateReader r = back.section("serial0").reader();
        assertEquals(7, r.u8());
        assertEquals(0x1234, r.u16());
        assertEquals(-1, r.u32());
        assertEquals(Long.MIN_VALUE, r.u64());
        assertTrue(r.bool());
        assertEquals("é", r.string());
        assertArrayEquals(new byte[] {9}, r.bytes());
        r.end();
        assertEquals(3, back.section("serial0").version());
    }

    @Test
    void everyTruncationIsRefusedWithOneLine() {
        byte[] file = SnapshotFormat.encode(sample());
        for (int n = 0; n < file.length; n++) {
            byte[] cut = java.util.Arrays.copyOf(file, n);
            SnapshotException e = assertThrows(SnapshotException.class, () -> SnapshotFormat.decode(cut), "length " + n);
            assertOneLine(e);
        }
    }

    @Test
    void everyFlippedBitIsRefused() {
        byte[] file = SnapshotFormat.encode(sample());
        for (int i = 0; i < file.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = file.clone();
                bad[i] ^= (byte) (1 << bit);
                assertOneLine(assertThrows(SnapshotException.class, () -> SnapshotFormat.decode(bad),
                        "byte " + i + " bit " + bit));
            }
        }
    }

    @Test
    void corruptedSectionIsNamed() {
        byte[] file = SnapshotFormat.encode(sample());
        int at = indexOf(file, new byte[] {1, 2, 3});
        file[at + 1] = 42;
        assertEquals("snapshot: section vcpu0 is corrupted (CRC32C mismatch)",
                assertThrows(SnapshotException.class, () -> SnapshotFormat.decode(file)).getMessage());
    }

    @Test
    void trailingBytesAndOtherVersionsAreRefused() {
        byte[] file = SnapshotFormat.encode(sample());
        byte[] longer = java.util.Arrays.copyOf(file, file.length + 1);
        assertTrue(assertThrows(SnapshotException.class, () -> SnapshotFormat.decode(longer)).getMessage()
                .contains("after its last field"));
        byte[] v2 = file.clone();
        v2[8] = 2;
        assertEquals("snapshot: format version 2, this VMM reads version 1",
                assertThrows(SnapshotException.class, () -> SnapshotFormat.decode(v2)).getMessage());
        assertEquals("snapshot: the state file is not a Mesovirt snapshot (bad magic)",
                assertThrows(SnapshotException.class, () -> SnapshotFormat.decode("QEVM0003....".getBytes()))
                        .getMessage());
    }

    @Test
    void namesMustBePrintableSoThatMessagesStayOneLine() {
        byte[] file = SnapshotFormat.encode(Snapshot.of("x86_64", "microvm", 1, 1 << 20,
                List.of(new Section("vcpu0", 1, new byte[0]))));
        // The fuzzer's finding: a section whose id is not the header's, with a line feed in it.
        int at = indexOf(file, "vcpu0".getBytes(), indexOf(file, "vcpu0".getBytes(), 0) + 1);
        byte[] bad = file.clone();
        bad[at + 2] = '\n';
        assertEquals("snapshot: section (an unprintable name) where the header lists vcpu0",
                assertThrows(SnapshotException.class, () -> SnapshotFormat.decode(bad)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Section("", 1, new byte[0]));
    }

    @Test
    void machineMismatchesAreOneLineEach() {
        Snapshot s = sample();
        List<String> ids = List.of("vcpu0", "vcpu1", "serial0");
        s.requireMatches("x86_64", "microvm", 2, 64L << 20, ids);
        assertEquals("snapshot: taken on x86_64, this VMM runs aarch64", assertThrows(SnapshotException.class,
                () -> s.requireMatches("aarch64", "microvm", 2, 64L << 20, ids)).getMessage());
        assertEquals("snapshot: of a microvm machine, the command line asks for q35", assertThrows(
                SnapshotException.class, () -> s.requireMatches("x86_64", "q35", 2, 64L << 20, ids)).getMessage());
        assertEquals("snapshot: has 2 vCPUs, the command line asks for 1", assertThrows(SnapshotException.class,
                () -> s.requireMatches("x86_64", "microvm", 1, 64L << 20, ids)).getMessage());
        assertEquals("snapshot: has 64 MiB of RAM, the command line asks for 128 MiB", assertThrows(
                SnapshotException.class, () -> s.requireMatches("x86_64", "microvm", 2, 128L << 20, ids)).getMessage());
        assertEquals("snapshot: its devices [vcpu0, vcpu1, serial0] differ from the command line's "
                + "[vcpu0, vcpu1, serial0, blk0] (not in the snapshot: [blk0])", assertThrows(SnapshotException.class,
                () -> s.requireMatches("x86_64", "microvm", 2, 64L << 20, List.of("vcpu0", "vcpu1", "serial0", "blk0")))
                .getMessage());
    }

    @Test
    void readerChecksItsBounds() {
        StateReader r = new StateReader("blk0", new StateWriter().u32(5).u8(2).toByteArray());
        assertEquals("snapshot: blk0 has queue size 5, outside 1..4", assertThrows(SnapshotException.class,
                () -> r.u32In("queue size", 1, 4)).getMessage());
        assertThrows(SnapshotException.class, r::bool);
        StateReader fixed = new StateReader("vcpu0", new StateWriter().bytes(new byte[3]).toByteArray());
        assertEquals("snapshot: vcpu0 has a lapic of 3 bytes, this VMM's has 1024",
                assertThrows(SnapshotException.class, () -> fixed.bytes("lapic", 1024)).getMessage());
    }

    @Test
    void directoryHoldsStateAndMemory(@TempDir Path dir) throws Exception {
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 16),
                new GuestMemory.Region(1 << 20, 1 << 12)))) {
            m.writeLong(8, 0x1122334455667788L);
            m.writeInt((1 << 20) + 4, 0xcafe);
            Snapshot s = Snapshot.of("x86_64", "microvm", 1, m.totalSize(), List.of(new Section("vcpu0", 1, new byte[4])));
            Path d = dir.resolve("snap");
            SnapshotDirectory.write(d, s, m);
            assertEquals(s, SnapshotDirectory.read(d));
            byte[] mem = Files.readAllBytes(d.resolve("memory"));
            assertEquals((1 << 16) + (1 << 12), mem.length);
            assertEquals(0x0088, mem[8] & 0xff);
            assertEquals(0xfe, mem[(1 << 16) + 4] & 0xff);
            SnapshotDirectory.writeMemory(d, m); // a new memory file invalidates the old state file at once
            assertFalse(Files.exists(d.resolve("state")));
            SnapshotDirectory.writeState(d, s);
            Files.write(d.resolve("memory"), new byte[4096]);
            assertTrue(assertThrows(SnapshotException.class, () -> SnapshotDirectory.read(d)).getMessage()
                    .endsWith("memory has 4096 bytes, the state file says 69632"));
            Files.delete(d.resolve("state"));
            assertEquals("snapshot: cannot read " + d.resolve("state") + ": no such file",
                    assertThrows(SnapshotException.class, () -> SnapshotDirectory.read(d)).getMessage());
        }
    }

    @Test
    void zeroMegabytesAreHolesThatReadBackAsZeros(@TempDir Path dir) throws Exception {
        try (GuestMemory m = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 3 << 20)))) {
            m.writeLong((1 << 20) + 4096, 0x0102030405060708L);
            SnapshotDirectory.writeMemory(dir, m);
            byte[] file = Files.readAllBytes(dir.resolve("memory"));
            assertEquals(3 << 20, file.length);
            byte[] expected = m.read(0, 3 << 20);
            assertArrayEquals(expected, file);
            m.writeLong((1 << 20) + 4096, 0);
            SnapshotDirectory.writeMemory(dir, m); // all zeros: one byte written, at the end
            assertArrayEquals(new byte[3 << 20], Files.readAllBytes(dir.resolve("memory")));
        }
    }

    @Test
    void restoredRamIsPrivateAndOutlivesANewSnapshotInTheSameDirectory(@TempDir Path dir) throws Exception {
        List<GuestMemory.Region> ram = List.of(new GuestMemory.Region(0, 2 << 20));
        try (GuestMemory first = GuestMemory.allocate(ram)) {
            first.writeLong(0, 0x1111);
            first.writeLong((1 << 20) + 8, 0x2222);
            SnapshotDirectory.writeMemory(dir, first);
        }
        try (GuestMemory restored = GuestMemory.mapFile(ram, SnapshotDirectory.memoryFile(dir), true);
                GuestMemory other = GuestMemory.allocate(ram)) {
            assertEquals(0x1111, restored.readLong(0));
            restored.writeLong(0, 0x3333); // copy on write: the file keeps its page
            assertArrayEquals(new byte[] {0x11, 0x11}, java.util.Arrays.copyOf(
                    Files.readAllBytes(SnapshotDirectory.memoryFile(dir)), 2));
            other.writeLong((1 << 20) + 8, 0x4444);
            SnapshotDirectory.writeMemory(dir, other); // a new template in the same place
            assertEquals(0x2222, restored.readLong((1 << 20) + 8), "an untouched page still reads the old file");
            assertEquals(0x3333, restored.readLong(0));
        }
    }

    private static void assertOneLine(SnapshotException e) {
        assertTrue(e.getMessage() != null && e.getMessage().startsWith("snapshot: ") && !e.getMessage().contains("\n"),
                e.getMessage());
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        return indexOf(hay, needle, 0);
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
