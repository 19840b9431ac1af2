package dev.mesovirt.fdt;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable, parsed flattened device tree: the root node, the memory reservations and the boot
 * CPU id from the header. Equality is structural, so a tree written by {@link FdtWriter} and parsed
 * back compares equal to the tree it was built from.
 *
 * @param root the root node (named {@code ""})
 * @param memoryReservations the reservation block entries in blob order
 * @param bootCpuId {@code boot_cpuid_phys} (unsigned)
 */
public record DeviceTree(FdtNode root, List<MemoryReservation> memoryReservations, int bootCpuId) {

    public DeviceTree {
        Objects.requireNonNull(root, "root");
        memoryReservations = List.copyOf(memoryReservations);
    }

    /**
     * Parses and validates a DTB.
     *
     * <p>Accepted: magic 0xd00dfeed, version &ge; 17 with last_comp_version &le; 17, blocks lying
     * within {@code totalsize} (which may be smaller than the array; trailing bytes are ignored),
     * the reservation block 8-byte aligned and terminated by an entry of size 0, a structure block of
     * 4-byte aligned tokens holding exactly one root node named {@code ""} followed by FDT_END,
     * FDT_NOP anywhere between tokens, properties before subnodes, unique property and child names,
     * names of printable ASCII ({@code '/'} not allowed in node names), property name offsets
     * inside the strings block, nesting at most {@value FdtWriter#MAX_DEPTH} deep.
     *
     * @throws FdtFormatException for any violation; no other exception escapes for non-null input
     */
    public static DeviceTree parse(byte[] blob) {
        Objects.requireNonNull(blob, "blob");
        return new FdtParser(blob).parse();
    }

    /**
     * The node at an absolute path such as {@code "/cpus/cpu@0"}; {@code "/"} is the root. A path
     * component without unit address also matches a node with one (see {@link FdtNode#child}).
     *
     * @throws IllegalArgumentException if the path is not absolute or has an empty component
     */
    public Optional<FdtNode> find(String path) {
        Objects.requireNonNull(path, "path");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("device tree path must start with '/': \"" + path + "\"");
        }
        String rest = path.length() > 1 && path.endsWith("/") ? path.substring(1, path.length() - 1) : path.substring(1);
        FdtNode node = root;
        if (rest.isEmpty()) {
            return Optional.of(node);
        }
        for (String component : rest.split("/", -1)) {
            if (component.isEmpty()) {
                throw new IllegalArgumentException("device tree path has an empty component: \"" + path + "\"");
            }
            Optional<FdtNode> child = node.child(component);
            if (child.isEmpty()) {
                return Optional.empty();
            }
            node = child.get();
        }
        return Optional.of(node);
    }

    /**
     * Like {@link #find(String)} but the node must exist.
     *
     * @throws NoSuchElementException if there is no node at {@code path}
     */
    public FdtNode node(String path) {
        return find(path).orElseThrow(() -> new NoSuchElementException("no device tree node at \"" + path + "\""));
    }
}
