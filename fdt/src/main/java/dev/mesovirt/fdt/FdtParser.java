package dev.mesovirt.fdt;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Parses a DTB. Every read is bounds-checked against the block it belongs to before touching the
 * array, and all offset arithmetic is done in {@code long}, so malformed input can only end in
 * {@link FdtFormatException}.
 */
final class FdtParser {

    private final byte[] blob;
    private long totalSize;
    private long structStart;
    private long structEnd;
    private long stringsStart;
    private long stringsEnd;

    FdtParser(byte[] blob) {
        this.blob = blob;
    }

    DeviceTree parse() {
        if (blob.length < FdtFormat.HEADER_SIZE) {
            throw new FdtFormatException(0, "blob of " + blob.length + " bytes is shorter than the "
                    + FdtFormat.HEADER_SIZE + "-byte header");
        }
        int magic = (int) u32(0);
        if (magic != FdtFormat.MAGIC) {
            throw new FdtFormatException(0, "bad magic 0x" + Integer.toHexString(magic) + ", expected 0xd00dfeed");
        }
        totalSize = u32(4);
        long offStruct = u32(8);
        long offStrings = u32(12);
        long offReservations = u32(16);
        long version = u32(20);
        long lastCompatibleVersion = u32(24);
        int bootCpuId = (int) u32(28);
        long sizeStrings = u32(32);
        long sizeStruct = u32(36);

        if (totalSize < FdtFormat.HEADER_SIZE || totalSize > blob.length) {
            throw new FdtFormatException(4, "totalsize " + totalSize + " is outside [" + FdtFormat.HEADER_SIZE + ", "
                    + blob.length + "] (the blob length)");
        }
        if (version < FdtFormat.VERSION) {
            throw new FdtFormatException(20, "unsupported version " + version + ", need 17 or later");
        }
        if (lastCompatibleVersion > FdtFormat.VERSION) {
            throw new FdtFormatException(24, "last_comp_version " + lastCompatibleVersion
                    + " is newer than the supported version 17");
        }
        checkBlock("memory reservation block", 16, offReservations, FdtFormat.RESERVATION_ENTRY_SIZE, 8);
        checkBlock("structure block", 8, offStruct, sizeStruct, 4);
        if (sizeStruct % 4 != 0) {
            throw new FdtFormatException(36, "size_dt_struct " + sizeStruct + " is not a multiple of 4");
        }
        checkBlock("strings block", 12, offStrings, sizeStrings, 1);
        structStart = offStruct;
        structEnd = offStruct + sizeStruct;
        stringsStart = offStrings;
        stringsEnd = offStrings + sizeStrings;

        List<MemoryReservation> reservations = parseReservations(offReservations);
        FdtNode root = parseStructure();
        return new DeviceTree(root, reservations, bootCpuId);
    }

    private void checkBlock(String what, int headerOffset, long offset, long size, int alignment) {
        if (offset < FdtFormat.HEADER_SIZE || offset % alignment != 0 || offset + size > totalSize) {
            throw new FdtFormatException(headerOffset, what + " at offset " + offset + " with size " + size
                    + " does not lie " + (alignment > 1 ? alignment + "-byte aligned " : "")
                    + "between the header and totalsize " + totalSize);
        }
    }

    private List<MemoryReservation> parseReservations(long offset) {
        List<MemoryReservation> reservations = new ArrayList<>();
        long pos = offset;
        while (true) {
            if (pos + FdtFormat.RESERVATION_ENTRY_SIZE > totalSize) {
                throw new FdtFormatException(pos, "memory reservation block is not terminated by a zero entry");
            }
            long address = u64(pos);
            long size = u64(pos + 8);
            if (size == 0) {
                return reservations;
            }
            if (Long.compareUnsigned(size - 1, -1L - address) > 0) {
                throw new FdtFormatException(pos, "memory reservation 0x" + Long.toHexString(address) + " +0x"
                        + Long.toHexString(size) + " runs past the end of the 64-bit address space");
            }
            reservations.add(new MemoryReservation(address, size));
            pos += FdtFormat.RESERVATION_ENTRY_SIZE;
        }
    }

    /** A node under construction. */
    private static final class PendingNode {
        final String name;
        final List<FdtProperty> properties = new ArrayList<>();
        final List<FdtNode> children = new ArrayList<>();
        final Set<String> propertyNames = new HashSet<>();
        final Set<String> childNames = new HashSet<>();

        PendingNode(String name) {
            this.name = name;
        }
    }

    private FdtNode parseStructure() {
        Deque<PendingNode> stack = new ArrayDeque<>();
        FdtNode root = null;
        long pos = structStart;
        while (true) {
            long tokenOffset = pos;
            if (pos + 4 > structEnd) {
                throw new FdtFormatException(pos, root == null && !stack.isEmpty()
                        ? "structure block ends inside node \"" + stack.peek().name + "\""
                        : "structure block ends without FDT_END");
            }
            int token = (int) u32(pos);
            pos += 4;
            switch (token) {
                case FdtFormat.FDT_NOP -> {
                }
                case FdtFormat.FDT_BEGIN_NODE -> {
                    if (root != null) {
                        throw new FdtFormatException(tokenOffset, "a second root-level node after the root node");
                    }
                    long nul = findNul(pos, structEnd);
                    if (nul < 0) {
                        throw new FdtFormatException(pos, "node name is not NUL-terminated within the structure block");
                    }
                    String name = ascii(pos, nul);
                    PendingNode parent = stack.peek();
                    if (parent == null) {
                        if (!name.isEmpty()) {
                            throw new FdtFormatException(pos, "root node must have an empty name, found \"" + name + "\"");
                        }
                    } else {
                        checkNodeName(pos, name);
                        if (!parent.childNames.add(name)) {
                            throw new FdtFormatException(pos, "duplicate node \"" + name + "\" in node \""
                                    + parent.name + "\"");
                        }
                        if (stack.size() >= FdtFormat.MAX_DEPTH) {
                            throw new FdtFormatException(tokenOffset, "nodes nest deeper than " + FdtFormat.MAX_DEPTH
                                    + " levels");
                        }
                    }
                    stack.push(new PendingNode(name));
                    pos = FdtFormat.align4(nul + 1);
                }
                case FdtFormat.FDT_PROP -> {
                    PendingNode node = stack.peek();
                    if (node == null) {
                        throw new FdtFormatException(tokenOffset, "FDT_PROP outside of any node");
                    }
                    if (pos + 8 > structEnd) {
                        throw new FdtFormatException(pos, "property header runs past the structure block");
                    }
                    long length = u32(pos);
                    long nameOffset = u32(pos + 4);
                    pos += 8;
                    if (pos + length > structEnd) {
                        throw new FdtFormatException(tokenOffset, "property value of " + length
                                + " bytes runs past the structure block");
                    }
                    String name = propertyName(tokenOffset + 8, nameOffset);
                    if (!node.children.isEmpty()) {
                        throw new FdtFormatException(tokenOffset, "property \"" + name + "\" follows a subnode of node \""
                                + node.name + "\"");
                    }
                    if (!node.propertyNames.add(name)) {
                        throw new FdtFormatException(tokenOffset, "duplicate property \"" + name + "\" in node \""
                                + node.name + "\"");
                    }
                    byte[] value = Arrays.copyOfRange(blob, (int) pos, (int) (pos + length));
                    node.properties.add(new FdtProperty(name, value));
                    pos = FdtFormat.align4(pos + length);
                }
                case FdtFormat.FDT_END_NODE -> {
                    PendingNode node = stack.poll();
                    if (node == null) {
                        throw new FdtFormatException(tokenOffset, "FDT_END_NODE without an open node");
                    }
                    FdtNode done = new FdtNode(node.name, node.properties, node.children);
                    PendingNode parent = stack.peek();
                    if (parent == null) {
                        root = done;
                    } else {
                        parent.children.add(done);
                    }
                }
                case FdtFormat.FDT_END -> {
                    if (!stack.isEmpty()) {
                        throw new FdtFormatException(tokenOffset, "FDT_END inside node \"" + stack.peek().name + "\"");
                    }
                    if (root == null) {
                        throw new FdtFormatException(tokenOffset, "FDT_END before the root node");
                    }
                    return root;
                }
                default -> throw new FdtFormatException(tokenOffset, "unknown structure token 0x"
                        + Integer.toHexString(token));
            }
            if (pos > structEnd) {
                throw new FdtFormatException(tokenOffset, "token runs past the end of the structure block");
            }
        }
    }

    private String propertyName(long fieldOffset, long nameOffset) {
        if (nameOffset >= stringsEnd - stringsStart) {
            throw new FdtFormatException(fieldOffset, "property name offset " + nameOffset
                    + " is outside the strings block of " + (stringsEnd - stringsStart) + " bytes");
        }
        long start = stringsStart + nameOffset;
        long nul = findNul(start, stringsEnd);
        if (nul < 0) {
            throw new FdtFormatException(start, "property name is not NUL-terminated within the strings block");
        }
        if (nul == start) {
            throw new FdtFormatException(start, "empty property name");
        }
        String name = ascii(start, nul);
        return name;
    }

    private void checkNodeName(long offset, String name) {
        if (name.isEmpty()) {
            throw new FdtFormatException(offset, "empty node name below the root");
        }
        if (name.indexOf('/') >= 0) {
            throw new FdtFormatException(offset, "node name \"" + name + "\" contains '/'");
        }
    }

    /** Position of the first NUL in [from, end), or -1. */
    private long findNul(long from, long end) {
        for (long i = from; i < end; i++) {
            if (blob[(int) i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** Printable ASCII text in [from, to). */
    private String ascii(long from, long to) {
        for (long i = from; i < to; i++) {
            int c = blob[(int) i] & 0xff;
            if (c < 0x21 || c > 0x7e) {
                throw new FdtFormatException(i, "name contains non-printable or non-ASCII byte 0x"
                        + Integer.toHexString(c));
            }
        }
        return new String(blob, (int) from, (int) (to - from), StandardCharsets.US_ASCII);
    }

    private long u32(long offset) {
        int i = (int) offset;
        return ((blob[i] & 0xffL) << 24) | ((blob[i + 1] & 0xffL) << 16) | ((blob[i + 2] & 0xffL) << 8)
                | (blob[i + 3] & 0xffL);
    }

    private long u64(long offset) {
        return (u32(offset) << 32) | u32(offset + 4);
    }
}
