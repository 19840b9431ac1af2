package dev.mesovirt.fdt;

import static dev.mesovirt.fdt.TestBlobs.BEGIN;
import static dev.mesovirt.fdt.TestBlobs.END;
import static dev.mesovirt.fdt.TestBlobs.END_NODE;
import static dev.mesovirt.fdt.TestBlobs.NOP;
import static dev.mesovirt.fdt.TestBlobs.PROP;
import static dev.mesovirt.fdt.TestBlobs.be32;
import static dev.mesovirt.fdt.TestBlobs.patch32;
import static dev.mesovirt.fdt.TestBlobs.rawBlob;
import static dev.mesovirt.fdt.TestBlobs.strings;
import static dev.mesovirt.fdt.TestBlobs.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class DeviceTreeTest {

    private static FdtFormatException assertMalformed(byte[] blob, String messagePart) {
        FdtFormatException e = assertThrows(FdtFormatException.class, () -> DeviceTree.parse(blob));
        assertTrue(e.getMessage().contains(messagePart), () -> "message \"" + e.getMessage() + "\" lacks \""
                + messagePart + "\"");
        return e;
    }

    /** A valid minimal structure block: root with one property "a" = <1>. */
    private static byte[] minimal() {
        return rawBlob(tokens(BEGIN, "", PROP, 4, 0, be32(1), END_NODE, END), strings("a"));
    }

    @Nested
    class Reading {

        @Test
        void emptyTree() {
            FdtWriter writer = new FdtWriter();
            writer.endNode(writer.beginNode(""));
            DeviceTree tree = DeviceTree.parse(writer.finish());
            assertEquals(new DeviceTree(new FdtNode("", List.of(), List.of()), List.of(), 0), tree);
        }

        @Test
        void smallTreeReadsBackWithEveryValue() {
            DeviceTree tree = DeviceTree.parse(TestBlobs.smallTree());
            assertEquals(1, tree.bootCpuId());
            assertEquals(List.of(new MemoryReservation(0x8000_0000L, 0x1_0000L)), tree.memoryReservations());
            FdtNode root = tree.root();
            assertEquals("", root.name());
            assertEquals(List.of("a", "bc"), root.property("compatible").orElseThrow().asStringList());
            assertEquals(2, root.property("#size-cells").orElseThrow().asU32());
            assertEquals(List.of("cpu@0", "memory@80000000"), root.children().stream().map(FdtNode::name).toList());

            FdtNode cpu = tree.node("/cpu@0");
            assertEquals(0x1_0000_0002L, cpu.property("reg").orElseThrow().asU64());
            assertTrue(cpu.property("ranges").orElseThrow().isEmpty());
            assertArrayEquals(new byte[] {1, 2, 3}, cpu.property("data").orElseThrow().value());

            FdtNode memory = tree.node("/memory@80000000");
            assertArrayEquals(new int[] {0x8000_0000, 0x1000}, memory.property("reg").orElseThrow().asU32Array());
            assertArrayEquals(new long[] {1, 2}, memory.property("sizes").orElseThrow().asU64Array());
            assertEquals("mv", memory.property("model").orElseThrow().asString());
            assertEquals(1, memory.property("phandle").orElseThrow().asU32());
            assertEquals("memory", memory.baseName());
            assertEquals("80000000", memory.unitAddress().orElseThrow());
            assertTrue(root.unitAddress().isEmpty());
        }

        @Test
        void virtTreeLookups() {
            DeviceTree tree = DeviceTree.parse(TestBlobs.virtTree());
            assertEquals("console=ttyS0 root=/dev/vda",
                    tree.node("/chosen").property("bootargs").orElseThrow().asString());
            assertEquals(1, tree.node("/cpus/cpu@1").property("reg").orElseThrow().asU32());
            assertEquals("cpu@0", tree.node("/cpus/cpu").name(), "base-name match picks the first");
            assertEquals("memory@40000000", tree.node("/memory").name());
            assertEquals(tree.root(), tree.node("/"));
            assertEquals(tree.node("/cpus"), tree.node("/cpus/"));
            assertTrue(tree.find("/cpus/cpu@2").isEmpty());
            assertTrue(tree.find("/nothing/below").isEmpty());
            assertTrue(tree.find("/cpus/cpu@0/x").isEmpty());
            assertThrows(NoSuchElementException.class, () -> tree.node("/absent"));
            assertThrows(IllegalArgumentException.class, () -> tree.find("cpus"));
            assertThrows(IllegalArgumentException.class, () -> tree.find("/cpus//cpu@0"));
            assertThrows(IllegalArgumentException.class, () -> tree.find(""));
            assertEquals(List.of(new MemoryReservation(0x4800_0000L, 0x10_0000L)), tree.memoryReservations());
        }

        @Test
        void exactNameBeatsBaseNameMatch() {
            FdtWriter w = new FdtWriter();
            OpenNode root = w.beginNode("");
            w.endNode(w.beginNode("cpu@0"));
            w.endNode(w.beginNode("cpu"));
            w.endNode(root);
            assertEquals("cpu", DeviceTree.parse(w.finish()).node("/cpu").name());
        }

        @Test
        void nopTokensAreSkippedEverywhere() {
            byte[] blob = rawBlob(tokens(NOP, BEGIN, "", NOP, PROP, 4, 0, be32(7), NOP, BEGIN, "c", NOP, END_NODE,
                    NOP, END_NODE, NOP, END), strings("a"));
            DeviceTree tree = DeviceTree.parse(blob);
            assertEquals(7, tree.root().property("a").orElseThrow().asU32());
            assertEquals("c", tree.node("/c").name());
        }

        @Test
        void bytesAfterTotalSizeAreIgnored() {
            byte[] blob = minimal();
            byte[] longer = Arrays.copyOf(blob, blob.length + 100);
            assertEquals(DeviceTree.parse(blob), DeviceTree.parse(longer));
        }

        @Test
        void newerVersionWithCompatibleLastVersionIsAccepted() {
            assertEquals(DeviceTree.parse(minimal()), DeviceTree.parse(patch32(minimal(), 20, 18)));
        }

        @Test
        void readerAcceptsNamesTheWriterWouldRefuse() {
            // dtc and vendor trees contain names outside the writer's strict rules.
            String longName = "a-property-name-longer-than-31-characters";
            byte[] blob = rawBlob(tokens(BEGIN, "", PROP, 0, 0, BEGIN, "0weird#node", END_NODE, END_NODE, END),
                    strings(longName));
            DeviceTree tree = DeviceTree.parse(blob);
            assertTrue(tree.root().property(longName).isPresent());
            assertEquals("0weird#node", tree.root().children().get(0).name());
        }
    }

    @Nested
    class PropertyAccessors {

        private final FdtProperty three = new FdtProperty("p", new byte[] {1, 2, 3});

        @Test
        void wrongLengthsThrowFormatException() {
            assertThrows(FdtFormatException.class, three::asU32);
            assertThrows(FdtFormatException.class, three::asU64);
            assertThrows(FdtFormatException.class, three::asU32Array);
            assertThrows(FdtFormatException.class, three::asU64Array);
            assertThrows(FdtFormatException.class, new FdtProperty("p", new byte[12])::asU64Array);
            assertThrows(FdtFormatException.class, new FdtProperty("p", new byte[8])::asU32);
        }

        @Test
        void stringsMustBeTerminatedAndSingle() {
            assertThrows(FdtFormatException.class, three::asString);
            assertThrows(FdtFormatException.class, three::asStringList);
            assertThrows(FdtFormatException.class, new FdtProperty("p", new byte[0])::asString);
            FdtProperty two = new FdtProperty("p", strings("a", "b"));
            FdtFormatException e = assertThrows(FdtFormatException.class, two::asString);
            assertTrue(e.getMessage().contains("asStringList"));
            assertEquals(List.of("a", "b"), two.asStringList());
            assertEquals(-1, e.offset());
        }

        @Test
        void stringListEdgeCases() {
            assertEquals(List.of(), new FdtProperty("p", new byte[0]).asStringList());
            assertEquals(List.of(""), new FdtProperty("p", new byte[1]).asStringList());
            assertEquals(List.of("", "x", ""), new FdtProperty("p", strings("", "x", "")).asStringList());
            assertEquals("", new FdtProperty("p", new byte[1]).asString());
        }

        @Test
        void invalidUtf8ThrowsFormatException() {
            FdtProperty bad = new FdtProperty("p", new byte[] {(byte) 0xc3, 0});
            assertThrows(FdtFormatException.class, bad::asString);
            assertThrows(FdtFormatException.class, bad::asStringList);
        }

        @Test
        void unicodeStringsRoundTrip() {
            FdtWriter w = new FdtWriter();
            OpenNode root = w.beginNode("");
            w.propertyString("model", "Mesovirt \u00e9\u4e2d\ud83d\ude00");
            w.endNode(root);
            assertEquals("Mesovirt \u00e9\u4e2d\ud83d\ude00",
                    DeviceTree.parse(w.finish()).root().property("model").orElseThrow().asString());
        }

        @Test
        void valueIsCopiedInAndOut() {
            byte[] bytes = {1, 2, 3, 4};
            FdtProperty property = new FdtProperty("p", bytes);
            bytes[0] = 9;
            property.value()[1] = 9;
            assertArrayEquals(new byte[] {1, 2, 3, 4}, property.value());
            assertEquals(0x01020304, property.asU32());
        }

        @Test
        void equalityIsByContent() {
            assertEquals(new FdtProperty("p", new byte[] {1}), new FdtProperty("p", new byte[] {1}));
            assertEquals(new FdtProperty("p", new byte[] {1}).hashCode(), new FdtProperty("p", new byte[] {1}).hashCode());
            assertNotEquals(new FdtProperty("p", new byte[] {1}), new FdtProperty("p", new byte[] {2}));
            assertNotEquals(new FdtProperty("p", new byte[] {1}), new FdtProperty("q", new byte[] {1}));
            assertEquals("p = [01 ff]", new FdtProperty("p", new byte[] {1, -1}).toString());
        }

        @Test
        void nodeModelRejectsDuplicateNames() {
            FdtProperty p = new FdtProperty("p", new byte[0]);
            FdtNode c = new FdtNode("c", List.of(), List.of());
            assertThrows(IllegalArgumentException.class, () -> new FdtNode("", List.of(p, p), List.of()));
            assertThrows(IllegalArgumentException.class, () -> new FdtNode("", List.of(), List.of(c, c)));
        }
    }

    @Nested
    class MemoryReservations {

        @Test
        void overlapRules() {
            MemoryReservation a = new MemoryReservation(0x1000, 0x1000);
            assertTrue(a.overlaps(new MemoryReservation(0x1fff, 1)));
            assertTrue(a.overlaps(new MemoryReservation(0, -1L)));
            assertFalse(a.overlaps(new MemoryReservation(0x2000, 1)));
            assertFalse(a.overlaps(new MemoryReservation(0xfff, 1)));
            assertEquals(0x1fff, a.lastAddress());
            assertEquals(-1L, new MemoryReservation(-1L, 1).lastAddress());
        }

        @Test
        void invalidRangesAreRejected() {
            assertThrows(IllegalArgumentException.class, () -> new MemoryReservation(5, 0));
            assertThrows(IllegalArgumentException.class, () -> new MemoryReservation(-1L, 2));
        }
    }

    @Nested
    class Malformed {

        @Test
        void shorterThanTheHeader() {
            assertMalformed(new byte[0], "shorter than the 40-byte header");
            assertMalformed(Arrays.copyOf(minimal(), 39), "shorter than the 40-byte header");
        }

        @Test
        void badMagic() {
            FdtFormatException e = assertMalformed(patch32(minimal(), 0, 0xedfe0dd0), "bad magic 0xedfe0dd0");
            assertEquals(0, e.offset());
        }

        @Test
        void totalSizeBeyondTheArray() {
            byte[] blob = minimal();
            assertMalformed(patch32(blob, 4, blob.length + 1), "totalsize");
            assertMalformed(Arrays.copyOf(blob, blob.length - 1), "totalsize");
            assertMalformed(patch32(blob, 4, 39), "totalsize");
            assertMalformed(patch32(blob, 4, -1), "totalsize");
        }

        @Test
        void unsupportedVersions() {
            assertMalformed(patch32(minimal(), 20, 16), "unsupported version 16");
            assertMalformed(patch32(minimal(), 24, 18), "last_comp_version 18");
        }

        @Test
        void blocksOutOfBoundsOrMisaligned() {
            byte[] blob = minimal();
            assertMalformed(patch32(blob, 16, 44), "memory reservation block");
            assertMalformed(patch32(blob, 16, 0), "memory reservation block");
            assertMalformed(patch32(blob, 16, blob.length - 8), "memory reservation block");
            assertMalformed(patch32(blob, 8, 58), "structure block");
            assertMalformed(patch32(blob, 8, -4), "structure block");
            assertMalformed(patch32(blob, 36, 0x7fff_fffc), "structure block");
            assertMalformed(patch32(blob, 36, 6), "not a multiple of 4");
            assertMalformed(patch32(blob, 12, blob.length), "strings block");
            assertMalformed(patch32(blob, 32, -1), "strings block");
        }

        @Test
        void unterminatedReservationBlock() {
            // totalsize cut so the reservation map runs into the end without a zero entry
            byte[] structure = tokens(BEGIN, "", END_NODE, END);
            byte[] blob = rawBlob(structure, new byte[0], 0x1000, 0x1000);
            // make the first entry's terminator non-zero and point the other blocks before it
            byte[] patched = patch32(patch32(blob, 60, 1), 68, 1);
            patched = patch32(patch32(patched, 8, 40), 36, 16);
            patched = patch32(patched, 12, 40);
            patched = patch32(patch32(patched, 32, 0), 4, 72);
            assertMalformed(Arrays.copyOf(patched, 72), "not terminated");
        }

        @Test
        void reservationWrappingPastTwoToThe64() {
            byte[] blob = rawBlob(tokens(BEGIN, "", END_NODE, END), new byte[0], -4096L, 4097L);
            assertMalformed(blob, "64-bit address space");
        }

        @Test
        void missingEndToken() {
            assertMalformed(rawBlob(tokens(BEGIN, "", END_NODE), new byte[0]), "without FDT_END");
            assertMalformed(rawBlob(tokens(BEGIN, "", BEGIN, "a"), new byte[0]), "ends inside node \"a\"");
            assertMalformed(rawBlob(new byte[0], new byte[0]), "without FDT_END");
        }

        @Test
        void endInsideANode() {
            assertMalformed(rawBlob(tokens(BEGIN, "", END), new byte[0]), "FDT_END inside node");
        }

        @Test
        void endBeforeRoot() {
            assertMalformed(rawBlob(tokens(NOP, END), new byte[0]), "FDT_END before the root node");
        }

        @Test
        void unknownToken() {
            FdtFormatException e = assertMalformed(rawBlob(tokens(BEGIN, "", 7, END_NODE, END), new byte[0]),
                    "unknown structure token 0x7");
            assertEquals(56 + 8, e.offset());
        }

        @Test
        void secondRoot() {
            assertMalformed(rawBlob(tokens(BEGIN, "", END_NODE, BEGIN, "", END_NODE, END), new byte[0]),
                    "second root-level node");
        }

        @Test
        void rootWithAName() {
            assertMalformed(rawBlob(tokens(BEGIN, "root", END_NODE, END), new byte[0]), "empty name");
        }

        @Test
        void badChildNames() {
            assertMalformed(rawBlob(tokens(BEGIN, "", BEGIN, "", END_NODE, END_NODE, END), new byte[0]),
                    "empty node name");
            assertMalformed(rawBlob(tokens(BEGIN, "", BEGIN, "a/b", END_NODE, END_NODE, END), new byte[0]),
                    "contains '/'");
            assertMalformed(rawBlob(tokens(BEGIN, "", BEGIN, "a b", END_NODE, END_NODE, END), new byte[0]),
                    "non-printable");
            assertMalformed(rawBlob(tokens(BEGIN, "", BEGIN, "a", END_NODE, BEGIN, "a", END_NODE, END_NODE, END),
                    new byte[0]), "duplicate node \"a\"");
        }

        @Test
        void unterminatedNodeName() {
            byte[] structure = tokens(BEGIN, "", BEGIN, new byte[] {'a', 'b', 'c', 'd'});
            assertMalformed(rawBlob(structure, new byte[0]), "not NUL-terminated");
        }

        @Test
        void propertyProblems() {
            byte[] names = strings("a", "b");
            assertMalformed(rawBlob(tokens(PROP, 0, 0, END), names), "outside of any node");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0), names), "property header runs past");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 100, 0, END_NODE, END), names), "runs past the structure");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, -1, 0, END_NODE, END), names), "runs past the structure");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0, 4, END_NODE, END), names), "outside the strings block");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0, -1, END_NODE, END), names), "outside the strings block");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0, 0, END_NODE, END), new byte[] {'a'}),
                    "not NUL-terminated within the strings block");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0, 0, END_NODE, END), new byte[] {0}),
                    "empty property name");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0, 0, PROP, 0, 0, END_NODE, END), names),
                    "duplicate property \"a\"");
            assertMalformed(rawBlob(tokens(BEGIN, "", BEGIN, "c", END_NODE, PROP, 0, 0, END_NODE, END), names),
                    "follows a subnode");
            assertMalformed(rawBlob(tokens(BEGIN, "", PROP, 0, 0, END_NODE, END), new byte[] {'\n', 0}),
                    "non-printable");
        }

        @Test
        void endNodeWithoutOpenNode() {
            assertMalformed(rawBlob(tokens(END_NODE, END), new byte[0]), "FDT_END_NODE without an open node");
        }

        @Test
        void nestingDeeperThan64() {
            Object[] parts = new Object[2 + 2 * 64 + 65 + 1];
            int i = 0;
            parts[i++] = BEGIN;
            parts[i++] = "";
            for (int depth = 2; depth <= 65; depth++) {
                parts[i++] = BEGIN;
                parts[i++] = "n";
            }
            for (int depth = 1; depth <= 65; depth++) {
                parts[i++] = END_NODE;
            }
            parts[i] = END;
            assertMalformed(rawBlob(tokens(parts), new byte[0]), "deeper than 64");
            // 64 levels are fine
            Object[] ok = new Object[parts.length - 3];
            int j = 0;
            ok[j++] = BEGIN;
            ok[j++] = "";
            for (int depth = 2; depth <= 64; depth++) {
                ok[j++] = BEGIN;
                ok[j++] = "n";
            }
            for (int depth = 1; depth <= 64; depth++) {
                ok[j++] = END_NODE;
            }
            ok[j] = END;
            DeviceTree.parse(rawBlob(tokens(ok), new byte[0]));
        }

        @Test
        void nullBlob() {
            assertThrows(NullPointerException.class, () -> DeviceTree.parse(null));
        }
    }
}
