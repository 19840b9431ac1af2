package dev.mesovirt.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Generates random valid device trees as plain specifications, writes them with {@link FdtWriter}
 * (choosing the typed property method at random) and computes the {@link DeviceTree} the reader
 * must return, with value bytes encoded independently of the writer.
 */
final class RandomTrees {

    enum Kind { RAW, EMPTY, U32, U64, CELLS, U64_ARRAY, STRING, STRING_LIST, PHANDLE }

    record PropertySpec(String name, Kind kind, Object argument, byte[] expected) {
    }

    record NodeSpec(String name, List<PropertySpec> properties, List<NodeSpec> children) {
    }

    record TreeSpec(NodeSpec root, List<MemoryReservation> reservations, int bootCpuId) {
    }

    private static final String NODE_CHARS =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-";
    private static final String PROPERTY_CHARS = NODE_CHARS + "?#";
    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private final Random random;
    private int nodesLeft;
    private int nextPhandle;

    private RandomTrees(long seed) {
        this.random = new Random(seed);
    }

    static TreeSpec generate(long seed) {
        return new RandomTrees(seed).tree();
    }

    private TreeSpec tree() {
        nodesLeft = 1 + random.nextInt(60);
        nextPhandle = 1;
        int maxDepth = random.nextInt(25) == 0 ? FdtWriter.MAX_DEPTH : 1 + random.nextInt(8);
        NodeSpec root = node("", 1, maxDepth);
        return new TreeSpec(root, reservations(), random.nextInt());
    }

    private List<MemoryReservation> reservations() {
        int count = random.nextInt(5);
        List<MemoryReservation> result = new ArrayList<>();
        // disjoint ranges: split the address space into slots and take at most one range per slot
        long slot = Long.divideUnsigned(-1L, 8);
        List<Integer> slots = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7));
        java.util.Collections.shuffle(slots, random);
        for (int i = 0; i < count; i++) {
            long base = slots.get(i) * slot;
            long offset = Long.remainderUnsigned(random.nextLong(), slot / 2);
            long size = 1 + Long.remainderUnsigned(random.nextLong(), slot / 2 - 1);
            if (random.nextBoolean()) {
                size = 1L << random.nextInt(40);
            }
            result.add(new MemoryReservation(base + offset, size));
        }
        return result;
    }

    private NodeSpec node(String name, int depth, int maxDepth) {
        nodesLeft--;
        List<PropertySpec> properties = new ArrayList<>();
        Set<String> propertyNames = new HashSet<>();
        int propertyCount = random.nextInt(6);
        boolean phandleDone = false;
        for (int i = 0; i < propertyCount; i++) {
            String propertyName = uniqueName(propertyNames, this::propertyName);
            Kind kind = Kind.values()[random.nextInt(Kind.values().length)];
            if (kind == Kind.PHANDLE) {
                if (phandleDone) {
                    kind = Kind.U32;
                } else {
                    phandleDone = true;
                    int phandle = nextPhandle++;
                    properties.add(new PropertySpec("phandle", kind, phandle, TestBlobs.be32(phandle)));
                    continue;
                }
            }
            properties.add(property(propertyName, kind));
        }
        List<NodeSpec> children = new ArrayList<>();
        Set<String> childNames = new HashSet<>();
        boolean chain = maxDepth == FdtWriter.MAX_DEPTH;
        int childCount = depth >= maxDepth ? 0 : chain ? 1 : random.nextInt(4);
        for (int i = 0; i < childCount && nodesLeft > 0; i++) {
            String childName = uniqueName(childNames, this::nodeName);
            children.add(node(childName, depth + 1, maxDepth));
        }
        if (chain && depth < maxDepth && children.isEmpty()) {
            children.add(node("n", depth + 1, maxDepth));
        }
        return new NodeSpec(name, properties, children);
    }

    private static String uniqueName(Set<String> taken, java.util.function.Supplier<String> supplier) {
        while (true) {
            String name = supplier.get();
            if (taken.add(name)) {
                return name;
            }
        }
    }

    private String chars(String alphabet, int length) {
        StringBuilder builder = new StringBuilder();
        for (int i = 0; i < length; i++) {
            builder.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return builder.toString();
    }

    private String nodeName() {
        int length = random.nextInt(4) == 0 ? 1 + random.nextInt(31) : 1 + random.nextInt(10);
        String name = chars(LETTERS, 1) + chars(NODE_CHARS, length - 1);
        if (random.nextBoolean()) {
            name += "@" + (random.nextBoolean() ? Long.toHexString(random.nextLong() >>> random.nextInt(64))
                    : chars(NODE_CHARS, 1 + random.nextInt(12)));
        }
        return name;
    }

    private String propertyName() {
        while (true) {
            int length = random.nextInt(4) == 0 ? 1 + random.nextInt(31) : 1 + random.nextInt(12);
            String name = chars(PROPERTY_CHARS, length);
            // "phandle" has its own kind; "name" is rewritten by dtc in the interop test.
            if (!name.equals("phandle") && !name.equals("name")) {
                return name;
            }
        }
    }

    private String text() {
        StringBuilder builder = new StringBuilder();
        int length = random.nextInt(20);
        for (int i = 0; i < length; i++) {
            switch (random.nextInt(6)) {
                case 0 -> builder.appendCodePoint(0x00e0 + random.nextInt(0x100));
                case 1 -> builder.appendCodePoint(0x4e00 + random.nextInt(0x100));
                case 2 -> builder.appendCodePoint(0x1f600 + random.nextInt(0x40));
                case 3 -> builder.appendCodePoint(1 + random.nextInt(0x7f)); // any ASCII except NUL
                default -> builder.appendCodePoint(0x20 + random.nextInt(0x5f));
            }
        }
        return builder.toString();
    }

    private PropertySpec property(String name, Kind kind) {
        switch (kind) {
            case RAW -> {
                byte[] value = new byte[random.nextInt(4) == 0 ? random.nextInt(300) : random.nextInt(12)];
                random.nextBytes(value);
                return new PropertySpec(name, kind, value.clone(), value);
            }
            case EMPTY -> {
                return new PropertySpec(name, kind, null, new byte[0]);
            }
            case U32 -> {
                int value = random.nextInt();
                return new PropertySpec(name, kind, value, TestBlobs.be32(value));
            }
            case U64 -> {
                long value = random.nextLong();
                return new PropertySpec(name, kind, value, TestBlobs.be64(value));
            }
            case CELLS -> {
                int[] cells = random.ints(random.nextInt(9)).toArray();
                return new PropertySpec(name, kind, cells, TestBlobs.be32(cells));
            }
            case U64_ARRAY -> {
                long[] values = random.longs(random.nextInt(5)).toArray();
                return new PropertySpec(name, kind, values, TestBlobs.be64(values));
            }
            case STRING -> {
                String value = text();
                return new PropertySpec(name, kind, value, TestBlobs.strings(value));
            }
            case STRING_LIST -> {
                List<String> values = new ArrayList<>();
                int count = random.nextInt(4);
                for (int i = 0; i < count; i++) {
                    values.add(text());
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                for (String value : values) {
                    out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
                    out.write(0);
                }
                return new PropertySpec(name, kind, List.copyOf(values), out.toByteArray());
            }
            default -> throw new AssertionError(kind);
        }
    }

    // ------------------------------------------------------------------ writing and expectations

    static byte[] write(TreeSpec tree) {
        FdtWriter writer = new FdtWriter();
        writer.setBootCpuId(tree.bootCpuId());
        for (MemoryReservation reservation : tree.reservations()) {
            writer.addMemoryReservation(reservation.address(), reservation.size());
        }
        writeNode(writer, tree.root());
        return writer.finish();
    }

    private static void writeNode(FdtWriter writer, NodeSpec node) {
        OpenNode open = writer.beginNode(node.name());
        for (PropertySpec property : node.properties()) {
            String name = property.name();
            Object argument = property.argument();
            switch (property.kind()) {
                case RAW -> writer.property(name, (byte[]) argument);
                case EMPTY -> writer.propertyEmpty(name);
                case U32 -> writer.propertyU32(name, (Integer) argument);
                case U64 -> writer.propertyU64(name, (Long) argument);
                case CELLS -> writer.propertyCells(name, (int[]) argument);
                case U64_ARRAY -> writer.propertyU64Array(name, (long[]) argument);
                case STRING -> writer.propertyString(name, (String) argument);
                case STRING_LIST -> {
                    @SuppressWarnings("unchecked")
                    List<String> values = (List<String>) argument;
                    writer.propertyStringList(name, values);
                }
                case PHANDLE -> {
                    int phandle = writer.allocatePhandle();
                    assertEquals(argument, phandle, "allocatePhandle counts up from 1");
                    writer.propertyPhandle(phandle);
                }
            }
        }
        for (NodeSpec child : node.children()) {
            writeNode(writer, child);
        }
        writer.endNode(open);
    }

    static DeviceTree expected(TreeSpec tree) {
        return new DeviceTree(expectedNode(tree.root()), tree.reservations(), tree.bootCpuId());
    }

    private static FdtNode expectedNode(NodeSpec node) {
        return new FdtNode(node.name(),
                node.properties().stream().map(p -> new FdtProperty(p.name(), p.expected())).toList(),
                node.children().stream().map(RandomTrees::expectedNode).toList());
    }

    /** Typed re-reading of every property through the accessor matching how it was written. */
    static void checkTypedAccessors(NodeSpec spec, FdtNode node) {
        for (PropertySpec property : spec.properties()) {
            FdtProperty read = node.property(property.name()).orElseThrow();
            switch (property.kind()) {
                case RAW -> org.junit.jupiter.api.Assertions.assertArrayEquals((byte[]) property.argument(), read.value());
                case EMPTY -> org.junit.jupiter.api.Assertions.assertTrue(read.isEmpty());
                case U32, PHANDLE -> assertEquals(property.argument(), read.asU32());
                case U64 -> assertEquals(property.argument(), read.asU64());
                case CELLS -> org.junit.jupiter.api.Assertions.assertArrayEquals((int[]) property.argument(),
                        read.asU32Array());
                case U64_ARRAY -> org.junit.jupiter.api.Assertions.assertArrayEquals((long[]) property.argument(),
                        read.asU64Array());
                case STRING -> assertEquals(property.argument(), read.asString());
                case STRING_LIST -> assertEquals(property.argument(), read.asStringList());
            }
        }
        for (NodeSpec child : spec.children()) {
            checkTypedAccessors(child, node.child(child.name()).orElseThrow());
        }
    }

    /** Every absolute path of the tree, for lookups. */
    static void paths(String prefix, NodeSpec node, List<String> out) {
        String path = node.name().isEmpty() ? "/" : prefix + node.name();
        out.add(path);
        for (NodeSpec child : node.children()) {
            paths(path.equals("/") ? "/" : path + "/", child, out);
        }
    }
}
