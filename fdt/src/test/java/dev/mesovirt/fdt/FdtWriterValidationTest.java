package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every misuse of {@link FdtWriter} ends in the documented exception with a helpful message. */
class FdtWriterValidationTest {

    private static void assertIae(Executable call, String messagePart) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(messagePart), () -> "message \"" + e.getMessage() + "\" lacks \""
                + messagePart + "\"");
    }

    private static void assertIse(Executable call, String messagePart) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call);
        assertTrue(e.getMessage().contains(messagePart), () -> "message \"" + e.getMessage() + "\" lacks \""
                + messagePart + "\"");
    }

    /** The tree {@code writer} wrote, once the root it has open is closed. */
    private static DeviceTree closeRootAndParse(FdtWriter writer, OpenNode root) {
        writer.endNode(root);
        return DeviceTree.parse(writer.finish());
    }

    /** A writer with the root node open. */
    private static FdtWriter withRoot() {
        FdtWriter writer = new FdtWriter();
        writer.beginNode("");
        return writer;
    }

    @Nested
    class NodeNames {

        @ParameterizedTest
        @ValueSource(strings = {"cpus", "cpu@0", "memory@40000000", "virtio_mmio@a000000", "pl011@9000000",
                "a,b.c_d+e-F9", "chosen", "A", "intc@8000000,1", "abcdefghijklmnopqrstuvwxyz01234",
                "abcdefghijklmnopqrstuvwxyz01234@ffffffffffffffffffffffffffffffffffff"})
        void validNamesAreAccepted(String name) {
            FdtWriter writer = withRoot();
            assertEquals(name, writer.beginNode(name).name());
        }

        @Test
        void nameOf32CharactersBeforeTheAtIsRejected() {
            assertIae(() -> withRoot().beginNode("abcdefghijklmnopqrstuvwxyz012345"), "1 to 31 characters");
            assertIae(() -> withRoot().beginNode("abcdefghijklmnopqrstuvwxyz012345@0"), "1 to 31 characters");
        }

        @ParameterizedTest
        @ValueSource(strings = {"0cpu", "_x", "-x", "@0", ",x", ".x"})
        void nameMustStartWithALetter(String name) {
            assertThrows(IllegalArgumentException.class, () -> withRoot().beginNode(name));
        }

        @ParameterizedTest
        @ValueSource(strings = {"a b", "a/b", "a#b", "a?b", "a\0b", "caf\u00e9", "a@b@c", "a@b c", "a@b/c", "a@b#"})
        void invalidCharactersAreRejected(String name) {
            assertIae(() -> withRoot().beginNode(name), "invalid node name");
        }

        @Test
        void emptyUnitAddressIsRejected() {
            assertIae(() -> withRoot().beginNode("cpu@"), "empty unit address");
        }

        @Test
        void onlyTheRootMayBeUnnamed() {
            assertIae(() -> withRoot().beginNode(""), "only the root node");
        }

        @Test
        void theRootMustBeUnnamed() {
            assertIae(() -> new FdtWriter().beginNode("root"), "must be named \"\"");
            assertIae(() -> new FdtWriter().beginNode("/"), "must be named \"\"");
        }

        @Test
        void siblingsMustHaveDistinctNames() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            writer.endNode(writer.beginNode("cpu@0"));
            assertIae(() -> writer.beginNode("cpu@0"), "duplicate node \"cpu@0\"");
            writer.endNode(writer.beginNode("cpu@1"));
            writer.endNode(writer.beginNode("cpu"));
            assertEquals(List.of("cpu@0", "cpu@1", "cpu"),
                    closeRootAndParse(writer, root).root().children().stream().map(FdtNode::name).toList(),
                    "other unit addresses and the bare name are other siblings; the refused one is not there");
        }

        @Test
        void cousinsMayShareNames() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            for (String parent : List.of("a", "b")) {
                OpenNode node = writer.beginNode(parent);
                writer.endNode(writer.beginNode("same"));
                writer.endNode(node);
            }
            DeviceTree tree = closeRootAndParse(writer, root);
            assertTrue(tree.find("/a/same").isPresent(), tree.root().toString());
            assertTrue(tree.find("/b/same").isPresent(), tree.root().toString());
        }

        @Test
        void nullNameIsRejected() {
            assertThrows(NullPointerException.class, () -> withRoot().beginNode(null));
        }
    }

    @Nested
    class PropertyNames {

        @ParameterizedTest
        @ValueSource(strings = {"reg", "#address-cells", "linux,initrd-start", "a?", "x.y_z+w", "0",
                "abcdefghijklmnopqrstuvwxyz01234"})
        void validNamesAreAccepted(String name) {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            writer.propertyEmpty(name);
            FdtNode written = closeRootAndParse(writer, root).root();
            assertEquals(List.of(name), written.properties().stream().map(FdtProperty::name).toList());
        }

        @ParameterizedTest
        @ValueSource(strings = {"", "abcdefghijklmnopqrstuvwxyz012345", "a@b", "a/b", "a b", "a\0", "\u00e9", "a:b"})
        void invalidNamesAreRejected(String name) {
            assertIae(() -> withRoot().propertyEmpty(name), "invalid property name");
        }

        @Test
        void duplicatePropertyInANodeIsRejected() {
            FdtWriter writer = withRoot();
            writer.propertyU32("reg", 1);
            assertIae(() -> writer.propertyU32("reg", 2), "duplicate property \"reg\"");
        }

        @Test
        void samePropertyNameInDifferentNodesIsFine() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            writer.propertyU32("reg", 1);
            OpenNode child = writer.beginNode("child");
            writer.propertyU32("reg", 2);
            writer.endNode(child);
            DeviceTree tree = closeRootAndParse(writer, root);
            assertEquals(1, tree.root().property("reg").orElseThrow().asU32());
            assertEquals(2, tree.node("/child").property("reg").orElseThrow().asU32());
        }
    }

    @Nested
    class Values {

        @Test
        void stringWithNulIsRejected() {
            assertIae(() -> withRoot().propertyString("model", "a\0b"), "NUL");
        }

        @Test
        void stringListElementWithNulIsRejected() {
            assertIae(() -> withRoot().propertyStringList("compatible", List.of("ok", "a\0b")), "NUL");
        }

        @Test
        void unpairedSurrogateIsRejected() {
            assertIae(() -> withRoot().propertyString("model", "x\ud800"), "Unicode");
        }

        @Test
        void nullsAreRejected() {
            FdtWriter writer = withRoot();
            assertThrows(NullPointerException.class, () -> writer.property("a", null));
            assertThrows(NullPointerException.class, () -> writer.property(null, new byte[0]));
            assertThrows(NullPointerException.class, () -> writer.propertyString("a", null));
            assertThrows(NullPointerException.class, () -> writer.propertyStringList("a", null));
            assertThrows(NullPointerException.class, () -> writer.propertyStringList("a", Arrays.asList("x", null)));
            assertThrows(NullPointerException.class, () -> writer.propertyCells("a", (int[]) null));
            assertThrows(NullPointerException.class, () -> writer.propertyU64Array("a", (long[]) null));
        }

        @Test
        void emptyListsGiveEmptyValues() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            writer.propertyCells("c");
            writer.propertyU64Array("u");
            writer.propertyStringList("s", List.of());
            writer.endNode(root);
            DeviceTree tree = DeviceTree.parse(writer.finish());
            assertEquals(3, tree.root().properties().size());
            assertTrue(tree.root().properties().stream().allMatch(FdtProperty::isEmpty));
        }
    }

    @Nested
    class Ordering {

        @Test
        void propertyBeforeTheRootIsRejected() {
            assertIse(() -> new FdtWriter().propertyU32("a", 1), "no node is open");
        }

        @Test
        void propertyAfterTheRootIsClosedIsRejected() {
            FdtWriter writer = new FdtWriter();
            writer.endNode(writer.beginNode(""));
            assertIse(() -> writer.propertyU32("a", 1), "root node is already closed");
        }

        @Test
        void propertyAfterAnOpenSubnodeGoesToTheSubnode() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            OpenNode child = writer.beginNode("child");
            writer.propertyU32("a", 1);
            writer.endNode(child);
            writer.endNode(root);
            DeviceTree tree = DeviceTree.parse(writer.finish());
            assertTrue(tree.root().properties().isEmpty());
            assertEquals(1, tree.node("/child").property("a").orElseThrow().asU32());
        }

        @Test
        void propertyAfterAClosedSubnodeIsRejected() {
            FdtWriter writer = withRoot();
            writer.endNode(writer.beginNode("child"));
            assertIse(() -> writer.propertyU32("late", 1), "properties must precede the node's subnodes");
        }

        @Test
        void endNodeMustCloseTheInnermostNode() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            OpenNode outer = writer.beginNode("outer");
            writer.beginNode("inner");
            assertIse(() -> writer.endNode(root), "out of order");
            assertIse(() -> writer.endNode(outer), "innermost open node is node \"inner\"");
        }

        @Test
        void endNodeTwiceIsRejected() {
            FdtWriter writer = withRoot();
            OpenNode child = writer.beginNode("child");
            writer.endNode(child);
            assertFalse(child.isOpen());
            assertIse(() -> writer.endNode(child), "already closed");
        }

        @Test
        void handleOfAnotherWriterIsRejected() {
            OpenNode foreign = withRoot().beginNode("x");
            FdtWriter writer = withRoot();
            writer.beginNode("x");
            assertIae(() -> writer.endNode(foreign), "different FdtWriter");
            assertThrows(NullPointerException.class, () -> writer.endNode(null));
        }

        @Test
        void secondRootIsRejected() {
            FdtWriter writer = new FdtWriter();
            writer.endNode(writer.beginNode(""));
            assertIse(() -> writer.beginNode(""), "exactly one root");
            assertIse(() -> writer.beginNode("x"), "exactly one root");
        }

        @Test
        void depth64IsAcceptedAnd65IsRejected() {
            FdtWriter writer = new FdtWriter();
            List<OpenNode> open = new ArrayList<>();
            open.add(writer.beginNode(""));
            for (int depth = 2; depth <= FdtWriter.MAX_DEPTH; depth++) {
                OpenNode node = writer.beginNode("n" + depth);
                assertEquals(depth, node.depth());
                open.add(node);
            }
            assertIse(() -> writer.beginNode("too-deep"), "deeper than 64");
            for (int i = open.size() - 1; i >= 0; i--) {
                writer.endNode(open.get(i));
            }
            DeviceTree tree = DeviceTree.parse(writer.finish());
            int depth = 1;
            for (FdtNode node = tree.root(); !node.children().isEmpty(); node = node.children().get(0)) {
                depth++;
            }
            assertEquals(64, depth);
        }

        @Test
        void finishWithoutRootIsRejected() {
            assertIse(() -> new FdtWriter().finish(), "no root node");
        }

        @Test
        void finishWithOpenNodeIsRejectedAndRecoverable() {
            FdtWriter writer = new FdtWriter();
            OpenNode root = writer.beginNode("");
            OpenNode child = writer.beginNode("child");
            assertIse(writer::finish, "node \"child\" is still open");
            writer.endNode(child);
            assertIse(writer::finish, "the root node is still open");
            writer.endNode(root);
            DeviceTree tree = DeviceTree.parse(writer.finish());
            assertTrue(tree.find("/child").isPresent(), "the tree as written once the nodes are closed");
        }

        @Test
        void everyCallAfterFinishIsRejected() {
            FdtWriter writer = new FdtWriter();
            writer.endNode(writer.beginNode(""));
            writer.finish();
            List<Executable> calls = List.of(
                    writer::finish,
                    () -> writer.beginNode(""),
                    () -> writer.propertyU32("a", 1),
                    () -> writer.addMemoryReservation(0, 1),
                    () -> writer.setBootCpuId(1),
                    writer::allocatePhandle,
                    () -> writer.endNode(new FdtWriter().beginNode("")));
            for (Executable call : calls) {
                assertIse(call, "already finished");
            }
        }
    }

    @Nested
    class Phandles {

        @Test
        void allocatedPhandlesAreUniqueAndStartAtOne() {
            FdtWriter writer = new FdtWriter();
            assertEquals(1, writer.allocatePhandle());
            assertEquals(2, writer.allocatePhandle());
            assertEquals(3, writer.allocatePhandle());
        }

        @Test
        void allocationSkipsPhandlesWrittenExplicitly() {
            FdtWriter writer = withRoot();
            OpenNode a = writer.beginNode("a");
            writer.propertyPhandle(1);
            writer.endNode(a);
            OpenNode b = writer.beginNode("b");
            writer.propertyU32("phandle", 2); // the plain u32 route is tracked as well
            writer.endNode(b);
            assertEquals(3, writer.allocatePhandle());
        }

        @Test
        void duplicatePhandleIsRejected() {
            FdtWriter writer = withRoot();
            int phandle = writer.allocatePhandle();
            OpenNode a = writer.beginNode("a");
            writer.propertyPhandle(phandle);
            writer.endNode(a);
            writer.beginNode("b");
            assertIae(() -> writer.propertyPhandle(phandle), "duplicate phandle 0x1");
        }

        @Test
        void reservedPhandleValuesAreRejected() {
            assertIae(() -> withRoot().propertyPhandle(0), "reserved");
            assertIae(() -> withRoot().propertyPhandle(-1), "reserved");
        }

        @Test
        void rawPhandleOfWrongLengthIsRejected() {
            assertIae(() -> withRoot().property("phandle", new byte[8]), "single u32 cell");
            assertIae(() -> withRoot().propertyEmpty("phandle"), "single u32 cell");
        }

        @Test
        void phandleRoundTrips() {
            FdtWriter writer = new FdtWriter();
            int gic = writer.allocatePhandle();
            OpenNode root = writer.beginNode("");
            writer.propertyU32("interrupt-parent", gic);
            OpenNode intc = writer.beginNode("intc");
            writer.propertyPhandle(gic);
            writer.endNode(intc);
            writer.endNode(root);
            DeviceTree tree = DeviceTree.parse(writer.finish());
            assertEquals(tree.root().property("interrupt-parent").orElseThrow().asU32(),
                    tree.node("/intc").property("phandle").orElseThrow().asU32());
        }
    }

    @Nested
    class Reservations {

        @Test
        void zeroSizeIsRejected() {
            assertIae(() -> new FdtWriter().addMemoryReservation(0x1000, 0), "size 0");
        }

        @Test
        void rangePastTwoToThe64IsRejected() {
            assertIae(() -> new FdtWriter().addMemoryReservation(-4096L, 4097), "64-bit address space");
            assertIae(() -> new FdtWriter().addMemoryReservation(2, -1L), "64-bit address space");
        }

        @Test
        void rangeEndingExactlyAtTwoToThe64IsAccepted() {
            FdtWriter writer = new FdtWriter();
            writer.addMemoryReservation(-4096L, 4096);
            writer.addMemoryReservation(0, -4096L); // the whole rest of the address space
            writer.endNode(writer.beginNode(""));
            assertEquals(List.of(new MemoryReservation(-4096L, 4096), new MemoryReservation(0, -4096L)),
                    DeviceTree.parse(writer.finish()).memoryReservations());
        }

        @Test
        void overlappingRangesAreRejected() {
            FdtWriter writer = new FdtWriter();
            writer.addMemoryReservation(0x1000, 0x1000);
            assertIae(() -> writer.addMemoryReservation(0x1fff, 1), "overlaps");
            assertIae(() -> writer.addMemoryReservation(0x800, 0x801), "overlaps");
            assertIae(() -> writer.addMemoryReservation(0, -1L), "overlaps");
            assertIae(() -> writer.addMemoryReservation(0x1800, 0x10), "overlaps");
        }

        @Test
        void adjacentRangesAreAcceptedAndKeepTheirOrder() {
            FdtWriter writer = new FdtWriter();
            writer.addMemoryReservation(0x2000, 0x1000);
            writer.addMemoryReservation(0x1000, 0x1000);
            writer.addMemoryReservation(0x3000, 0x1000);
            writer.endNode(writer.beginNode(""));
            assertEquals(List.of(new MemoryReservation(0x2000, 0x1000), new MemoryReservation(0x1000, 0x1000),
                    new MemoryReservation(0x3000, 0x1000)), DeviceTree.parse(writer.finish()).memoryReservations());
        }

        @Test
        void reservationsMayBeAddedAfterTheNodes() {
            FdtWriter writer = new FdtWriter();
            writer.endNode(writer.beginNode(""));
            writer.addMemoryReservation(0x1000, 0x1000);
            assertEquals(1, DeviceTree.parse(writer.finish()).memoryReservations().size());
        }
    }

    @Nested
    class Size {

        @Test
        void blobLargerThanTheLimitIsRejectedAndTheWriterStaysUsable() {
            FdtWriter writer = new FdtWriter(100);
            OpenNode root = writer.beginNode("");
            // 72 bytes so far (empty tree); a 12-byte property header + 16 bytes value + "big\0" = 104 > 100
            assertIse(() -> writer.property("big", new byte[16]), "more than the maximum of 100");
            writer.property("ok", new byte[8]); // 72 + 12 + 8 + 3 = 95
            assertIse(() -> writer.addMemoryReservation(0, 1), "more than the maximum");
            assertIse(() -> writer.beginNode("child"), "more than the maximum");
            writer.endNode(root);
            byte[] blob = writer.finish();
            assertEquals(95, blob.length);
            assertEquals(8, DeviceTree.parse(blob).root().property("ok").orElseThrow().length());
        }

        @Test
        void defaultLimitIsTheLargestJavaArray() {
            assertEquals(Integer.MAX_VALUE - 8, FdtWriter.DEFAULT_MAX_TOTAL_SIZE);
        }
    }

    @Test
    void failedCallsLeaveTheWriterUnchanged() {
        FdtWriter clean = new FdtWriter();
        OpenNode cleanRoot = clean.beginNode("");
        clean.propertyU32("a", 1);
        clean.endNode(clean.beginNode("n"));
        clean.endNode(cleanRoot);

        FdtWriter bumpy = new FdtWriter();
        OpenNode root = bumpy.beginNode("");
        assertThrows(IllegalArgumentException.class, () -> bumpy.propertyU32("bad name", 1));
        bumpy.propertyU32("a", 1);
        assertThrows(IllegalArgumentException.class, () -> bumpy.propertyU32("a", 2));
        assertThrows(IllegalArgumentException.class, () -> bumpy.propertyString("s", "\0"));
        assertThrows(IllegalArgumentException.class, () -> bumpy.propertyPhandle(0));
        assertThrows(IllegalArgumentException.class, () -> bumpy.beginNode("9bad"));
        assertThrows(IllegalArgumentException.class, () -> bumpy.addMemoryReservation(0, 0));
        bumpy.endNode(bumpy.beginNode("n"));
        assertThrows(IllegalArgumentException.class, () -> bumpy.beginNode("n"));
        bumpy.endNode(root);
        assertArrayEquals(clean.finish(), bumpy.finish());
    }

    @Test
    void bootCpuIdIsWrittenAsUnsigned() {
        FdtWriter writer = new FdtWriter();
        writer.setBootCpuId(0x8000_0001);
        writer.endNode(writer.beginNode(""));
        DeviceTree tree = DeviceTree.parse(writer.finish());
        assertEquals(0x8000_0001, tree.bootCpuId());
        assertNotEquals(0, tree.bootCpuId());
    }
}
