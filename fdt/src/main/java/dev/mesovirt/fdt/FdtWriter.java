package dev.mesovirt.fdt;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Builds a flattened device tree blob (DTB version 17, last compatible version 16).
 *
 * <pre>{@code
 * FdtWriter fdt = new FdtWriter();
 * int gic = fdt.allocatePhandle();
 * OpenNode root = fdt.beginNode("");
 * fdt.propertyString("compatible", "linux,dummy-virt");
 * fdt.propertyU32("#address-cells", 2);
 * fdt.propertyU32("#size-cells", 2);
 * fdt.propertyU32("interrupt-parent", gic);
 * OpenNode intc = fdt.beginNode("intc@8000000");
 * fdt.propertyPhandle(gic);
 * fdt.endNode(intc);
 * fdt.endNode(root);
 * byte[] dtb = fdt.finish();
 * }</pre>
 *
 * <p>Rules, checked on every call (argument problems raise {@link IllegalArgumentException}, calls
 * made in the wrong order raise {@link IllegalStateException}; {@code null} arguments raise
 * {@link NullPointerException}):
 * <ul>
 *   <li>Exactly one root node, named {@code ""}, which must be the first node begun; no node may be
 *       begun after it is closed.</li>
 *   <li>Other node names are {@code node-name[@unit-address]}: node-name is 1 to 31 characters of
 *       {@code [0-9a-zA-Z,._+-]} starting with a letter, unit-address one or more characters of the
 *       same set. Sibling nodes must have distinct names.</li>
 *   <li>Property names are 1 to 31 characters of {@code [0-9a-zA-Z,._+?#-]} and unique within their
 *       node. Properties go to the innermost open node and only before its first subnode.</li>
 *   <li>String values are UTF-8 and may not contain NUL.</li>
 *   <li>{@link #endNode(OpenNode)} must name the innermost open node; nodes nest at most
 *       {@value #MAX_DEPTH} deep (the root is depth 1).</li>
 *   <li>A property named {@code phandle} must be a u32 other than 0 and 0xffffffff, unique in the
 *       tree.</li>
 *   <li>Memory reservations must be non-empty, must not wrap past 2<sup>64</sup> and must not overlap
 *       one another; they are emitted in the order they were added.</li>
 *   <li>The finished blob must fit in a Java array (its {@code totalsize} is at most
 *       {@code Integer.MAX_VALUE - 8} bytes).</li>
 *   <li>{@link #finish()} requires the root node to be closed; afterwards the writer is spent and
 *       every further call raises {@link IllegalStateException}.</li>
 * </ul>
 *
 * <p>A failed call leaves the writer unchanged, so the caller may correct it and continue.
 * Instances are not thread-safe.
 */
public final class FdtWriter {

    /** Maximum nesting depth of nodes; the root node is depth 1. */
    public static final int MAX_DEPTH = FdtFormat.MAX_DEPTH;

    /** Maximum length of a property name and of the part of a node name before {@code '@'}. */
    public static final int MAX_NAME_LENGTH = FdtNames.MAX_NAME_LENGTH;

    /** Name of the property that carries a node's phandle. */
    public static final String PHANDLE_PROPERTY = "phandle";

    static final int DEFAULT_MAX_TOTAL_SIZE = Integer.MAX_VALUE - 8;

    private final long maxTotalSize;
    private final ByteSink structure = new ByteSink();
    private final ByteSink strings = new ByteSink();
    private final Map<String, Integer> stringOffsets = new HashMap<>();
    private final List<MemoryReservation> reservations = new ArrayList<>();
    private final Deque<OpenNode> openNodes = new ArrayDeque<>();
    private final Set<Integer> usedPhandles = new HashSet<>();
    private int nextPhandle = 1;
    private int bootCpuId;
    private boolean rootBegun;
    private boolean finished;

    /** A writer for an empty tree: no nodes yet, no memory reservations, boot CPU 0. */
    public FdtWriter() {
        this(DEFAULT_MAX_TOTAL_SIZE);
    }

    /** For tests: a writer whose blob may not exceed {@code maxTotalSize} bytes. */
    FdtWriter(int maxTotalSize) {
        this.maxTotalSize = maxTotalSize;
    }

    // ---------------------------------------------------------------- header and reservations

    /**
     * Sets {@code boot_cpuid_phys}, the physical id of the boot CPU (unsigned 32-bit; default 0).
     *
     * @throws IllegalStateException after {@link #finish()}
     */
    public void setBootCpuId(int physicalId) {
        ensureNotFinished();
        this.bootCpuId = physicalId;
    }

    /**
     * Adds an entry to the memory reservation block. May be called at any time before
     * {@link #finish()}; entries are emitted in the order they were added.
     *
     * @param address first byte of the range (unsigned 64-bit)
     * @param size length in bytes (unsigned 64-bit)
     * @throws IllegalArgumentException if {@code size} is 0, the range runs past 2^64, or it overlaps
     *     a reservation added earlier
     * @throws IllegalStateException after {@link #finish()} or if the blob would grow too large
     */
    public void addMemoryReservation(long address, long size) {
        ensureNotFinished();
        MemoryReservation entry = new MemoryReservation(address, size);
        for (MemoryReservation existing : reservations) {
            if (existing.overlaps(entry)) {
                throw new IllegalArgumentException(entry + " overlaps " + existing);
            }
        }
        ensureRoom(FdtFormat.RESERVATION_ENTRY_SIZE);
        reservations.add(entry);
    }

    // ---------------------------------------------------------------- phandles

    /**
     * Returns a fresh phandle value, unique among values returned before and phandles already
     * written. Values start at 1 and count upwards. Allocate the phandle before writing the nodes
     * that refer to it (e.g. {@code interrupt-parent}), then write it into its node with
     * {@link #propertyPhandle(int)}.
     *
     * @throws IllegalStateException after {@link #finish()} or when all 2^32 - 2 values are in use
     */
    public int allocatePhandle() {
        ensureNotFinished();
        while (usedPhandles.contains(nextPhandle)) {
            nextPhandle++;
        }
        if (nextPhandle == 0 || nextPhandle == -1) {
            throw new IllegalStateException("no phandle values left");
        }
        return nextPhandle++;
    }

    /**
     * Writes the {@code phandle} property (a u32) of the innermost open node. Same as
     * {@code propertyU32("phandle", phandle)}.
     *
     * @param phandle a value from {@link #allocatePhandle()}, or any value chosen by the caller
     *     (unsigned, not 0 or 0xffffffff); it must not have been written before
     * @throws IllegalArgumentException if the value is reserved or already used, or the node
     *     already has a phandle
     */
    public void propertyPhandle(int phandle) {
        propertyU32(PHANDLE_PROPERTY, phandle);
    }

    // ---------------------------------------------------------------- nodes

    /**
     * Begins a node as a child of the innermost open node, or the root node (name {@code ""}) if no
     * node has been begun yet.
     *
     * @return the handle to pass to {@link #endNode(OpenNode)}
     * @throws IllegalArgumentException if the name is invalid, the root is not named {@code ""}, or a
     *     sibling with the same name exists
     * @throws IllegalStateException after the root node was closed, beyond {@value #MAX_DEPTH} levels,
     *     after {@link #finish()}, or if the blob would grow too large
     */
    public OpenNode beginNode(String name) {
        Objects.requireNonNull(name, "name");
        ensureNotFinished();
        OpenNode parent = openNodes.peek();
        if (parent == null) {
            if (rootBegun) {
                throw new IllegalStateException("cannot begin node \"" + name
                        + "\": the root node is already closed and a device tree has exactly one root");
            }
            if (!name.isEmpty()) {
                throw new IllegalArgumentException("the first node is the root node and must be named \"\", not \""
                        + name + "\"");
            }
        } else {
            if (name.isEmpty()) {
                throw new IllegalArgumentException("only the root node may have an empty name (inside "
                        + describe(parent) + ")");
            }
            FdtNames.checkNodeName(name);
            if (parent.childNames.contains(name)) {
                throw new IllegalArgumentException("duplicate node \"" + name + "\" in " + describe(parent));
            }
            if (parent.depth() >= MAX_DEPTH) {
                throw new IllegalStateException("cannot begin node \"" + name + "\": nesting deeper than "
                        + MAX_DEPTH + " levels");
            }
        }
        byte[] nameBytes = FdtNames.encodeStringValue(name);
        long tokenSize = 4 + FdtFormat.align4(nameBytes.length + 1L);
        ensureRoom(tokenSize + 4); // + the FDT_END_NODE this node will need
        structure.putU32(FdtFormat.FDT_BEGIN_NODE);
        structure.put(nameBytes);
        structure.putZeros(1);
        structure.alignTo4();
        OpenNode node = new OpenNode(this, name, parent == null ? 1 : parent.depth() + 1);
        if (parent == null) {
            rootBegun = true;
        } else {
            parent.hasChildren = true;
            parent.childNames.add(name);
        }
        openNodes.push(node);
        return node;
    }

    /**
     * Closes {@code node}, which must be the innermost open node of this writer.
     *
     * @throws IllegalArgumentException if the handle belongs to another writer
     * @throws IllegalStateException if the node is already closed, another node is innermost, or
     *     after {@link #finish()}
     */
    public void endNode(OpenNode node) {
        Objects.requireNonNull(node, "node");
        ensureNotFinished();
        if (node.owner != this) {
            throw new IllegalArgumentException(node + " was created by a different FdtWriter");
        }
        if (node.closed) {
            throw new IllegalStateException("node " + describe(node) + " is already closed");
        }
        OpenNode innermost = openNodes.peek();
        if (innermost != node) {
            throw new IllegalStateException("endNode(" + describe(node) + ") out of order: the innermost open node is "
                    + describe(innermost));
        }
        structure.putU32(FdtFormat.FDT_END_NODE); // room was reserved by beginNode
        openNodes.pop();
        node.closed = true;
    }

    // ---------------------------------------------------------------- properties

    /**
     * Adds a property with a raw value to the innermost open node.
     *
     * @throws IllegalArgumentException if the name is invalid or already used in this node, or a
     *     {@code phandle} value is not a valid unique phandle
     * @throws IllegalStateException if no node is open, the node already has a subnode, after
     *     {@link #finish()}, or if the blob would grow too large
     */
    public void property(String name, byte[] value) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        ensureNotFinished();
        FdtNames.checkPropertyName(name);
        OpenNode node = openNodes.peek();
        if (node == null) {
            throw new IllegalStateException("cannot add property \"" + name + "\": no node is open"
                    + (rootBegun ? " (the root node is already closed)" : " (begin the root node first)"));
        }
        if (node.hasChildren) {
            throw new IllegalStateException("cannot add property \"" + name + "\" to " + describe(node)
                    + ": properties must precede the node's subnodes");
        }
        if (node.propertyNames.contains(name)) {
            throw new IllegalArgumentException("duplicate property \"" + name + "\" in " + describe(node));
        }
        Integer phandle = null;
        if (name.equals(PHANDLE_PROPERTY)) {
            phandle = checkPhandleValue(value);
        }
        boolean newString = !stringOffsets.containsKey(name);
        ensureRoom(12 + FdtFormat.align4(value.length) + (newString ? name.length() + 1 : 0));
        int nameOffset;
        if (newString) {
            nameOffset = strings.size();
            strings.put(FdtNames.encodeStringValue(name));
            strings.putZeros(1);
            stringOffsets.put(name, nameOffset);
        } else {
            nameOffset = stringOffsets.get(name);
        }
        structure.putU32(FdtFormat.FDT_PROP);
        structure.putU32(value.length);
        structure.putU32(nameOffset);
        structure.put(value);
        structure.alignTo4();
        node.propertyNames.add(name);
        if (phandle != null) {
            usedPhandles.add(phandle);
        }
    }

    /** Adds a property without value (a boolean flag such as {@code ranges} or {@code dma-coherent}). */
    public void propertyEmpty(String name) {
        property(name, new byte[0]);
    }

    /** Adds a property holding one big-endian u32 cell. */
    public void propertyU32(String name, int value) {
        property(name, cells(value));
    }

    /** Adds a property holding one big-endian u64 (two cells, high first). */
    public void propertyU64(String name, long value) {
        property(name, u64s(value));
    }

    /** Adds a property holding big-endian u32 cells, e.g. {@code reg} or {@code interrupts}; may be empty. */
    public void propertyCells(String name, int... cells) {
        Objects.requireNonNull(cells, "cells");
        property(name, cells(cells));
    }

    /** Adds a property holding big-endian u64 values (each two cells, high first); may be empty. */
    public void propertyU64Array(String name, long... values) {
        Objects.requireNonNull(values, "values");
        property(name, u64s(values));
    }

    /**
     * Adds a NUL-terminated UTF-8 string property.
     *
     * @throws IllegalArgumentException additionally if the value contains NUL or unpaired surrogates
     */
    public void propertyString(String name, String value) {
        Objects.requireNonNull(value, "value");
        byte[] bytes = FdtNames.encodeStringValue(value);
        byte[] terminated = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, terminated, 0, bytes.length);
        property(name, terminated);
    }

    /**
     * Adds a string-list property: each string UTF-8 encoded and NUL-terminated, concatenated (e.g.
     * {@code compatible = "arm,pl011", "arm,primecell"}). An empty list gives an empty value.
     *
     * @throws IllegalArgumentException additionally if a string contains NUL or unpaired surrogates
     */
    public void propertyStringList(String name, List<String> values) {
        Objects.requireNonNull(values, "values");
        ByteSink sink = new ByteSink();
        for (String value : values) {
            Objects.requireNonNull(value, "values contains null");
            sink.put(FdtNames.encodeStringValue(value));
            sink.putZeros(1);
        }
        byte[] bytes = new byte[sink.size()];
        sink.copyTo(bytes, 0);
        property(name, bytes);
    }

    // ---------------------------------------------------------------- finish

    /**
     * Returns the complete blob: header, memory reservation block, structure block, strings block.
     * The writer cannot be used afterwards.
     *
     * @throws IllegalStateException if there is no root node, a node is still open, or the writer was
     *     already finished
     */
    public byte[] finish() {
        ensureNotFinished();
        if (!rootBegun) {
            throw new IllegalStateException("cannot finish: the tree has no root node");
        }
        if (!openNodes.isEmpty()) {
            throw new IllegalStateException("cannot finish: node " + describe(openNodes.peek()) + " is still open");
        }
        structure.putU32(FdtFormat.FDT_END); // room was reserved by ensureRoom
        int reservationsOffset = FdtFormat.HEADER_SIZE;
        int structureOffset = reservationsOffset + (reservations.size() + 1) * FdtFormat.RESERVATION_ENTRY_SIZE;
        int stringsOffset = structureOffset + structure.size();
        int totalSize = stringsOffset + strings.size();

        byte[] blob = new byte[totalSize];
        ByteSink head = new ByteSink();
        head.putU32(FdtFormat.MAGIC);
        head.putU32(totalSize);
        head.putU32(structureOffset);
        head.putU32(stringsOffset);
        head.putU32(reservationsOffset);
        head.putU32(FdtFormat.VERSION);
        head.putU32(FdtFormat.LAST_COMPATIBLE_VERSION);
        head.putU32(bootCpuId);
        head.putU32(strings.size());
        head.putU32(structure.size());
        for (MemoryReservation entry : reservations) {
            head.putU64(entry.address());
            head.putU64(entry.size());
        }
        head.putU64(0);
        head.putU64(0);
        head.copyTo(blob, 0);
        structure.copyTo(blob, structureOffset);
        strings.copyTo(blob, stringsOffset);
        finished = true;
        return blob;
    }

    // ---------------------------------------------------------------- helpers

    private void ensureNotFinished() {
        if (finished) {
            throw new IllegalStateException("this FdtWriter has already finished its blob");
        }
    }

    /**
     * Checks that growing the blob by {@code extra} bytes keeps the finished size within the limit.
     * The projection includes the FDT_END_NODE of every open node and the final FDT_END.
     */
    private void ensureRoom(long extra) {
        long projected = FdtFormat.HEADER_SIZE
                + (long) (reservations.size() + 1) * FdtFormat.RESERVATION_ENTRY_SIZE
                + structure.size() + 4L * openNodes.size() + 4
                + strings.size() + extra;
        if (projected > maxTotalSize) {
            throw new IllegalStateException("device tree would grow to " + projected
                    + " bytes, more than the maximum of " + maxTotalSize);
        }
    }

    private Integer checkPhandleValue(byte[] value) {
        if (value.length != 4) {
            throw new IllegalArgumentException("property \"phandle\" must be a single u32 cell, got "
                    + value.length + " bytes");
        }
        int phandle = ((value[0] & 0xff) << 24) | ((value[1] & 0xff) << 16) | ((value[2] & 0xff) << 8)
                | (value[3] & 0xff);
        if (phandle == 0 || phandle == -1) {
            throw new IllegalArgumentException("phandle 0x" + Integer.toHexString(phandle)
                    + " is reserved (0 and 0xffffffff are not valid phandles)");
        }
        if (usedPhandles.contains(phandle)) {
            throw new IllegalArgumentException("duplicate phandle 0x" + Integer.toHexString(phandle));
        }
        return phandle;
    }

    private static String describe(OpenNode node) {
        if (node == null) {
            return "(none)";
        }
        return node.name().isEmpty() ? "the root node" : "node \"" + node.name() + "\"";
    }

    private static byte[] cells(int... cells) {
        ByteSink sink = new ByteSink();
        for (int cell : cells) {
            sink.putU32(cell);
        }
        byte[] bytes = new byte[sink.size()];
        sink.copyTo(bytes, 0);
        return bytes;
    }

    private static byte[] u64s(long... values) {
        ByteSink sink = new ByteSink();
        for (long value : values) {
            sink.putU64(value);
        }
        byte[] bytes = new byte[sink.size()];
        sink.copyTo(bytes, 0);
        return bytes;
    }
}
