package dev.mesovirt.fdt;

import java.util.HashSet;
import java.util.Set;

/**
 * Handle of a node begun with {@link FdtWriter#beginNode(String)}; pass it to
 * {@link FdtWriter#endNode(OpenNode)} to close the node. Only the writer that created it accepts it.
 */
public final class OpenNode {

    final FdtWriter owner;
    private final String name;
    private final int depth;
    final Set<String> propertyNames = new HashSet<>();
    final Set<String> childNames = new HashSet<>();
    boolean hasChildren;
    boolean closed;

    OpenNode(FdtWriter owner, String name, int depth) {
        this.owner = owner;
        this.name = name;
        this.depth = depth;
    }

    /** The node's name ({@code ""} for the root). */
    public String name() {
        return name;
    }

    /** Nesting depth: 1 for the root, 2 for its children, and so on. */
    public int depth() {
        return depth;
    }

    /** Whether {@link FdtWriter#endNode(OpenNode)} has not yet been called for this node. */
    public boolean isOpen() {
        return !closed;
    }

    @Override
    public String toString() {
        return "OpenNode[" + (name.isEmpty() ? "/" : name) + ", depth " + depth + (closed ? ", closed]" : "]");
    }
}
