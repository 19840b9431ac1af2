package dev.mesovirt.fdt;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A node of a parsed device tree: its name ({@code ""} for the root, otherwise
 * {@code node-name[@unit-address]}), its properties and its children, both in blob order.
 * Immutable; equality is structural.
 *
 * @param name the full node name including any unit address
 * @param properties the properties, names unique
 * @param children the subnodes, names unique
 */
public record FdtNode(String name, List<FdtProperty> properties, List<FdtNode> children) {

    /** @throws IllegalArgumentException if two properties or two children share a name */
    public FdtNode {
        Objects.requireNonNull(name, "name");
        properties = List.copyOf(properties);
        children = List.copyOf(children);
        Set<String> seen = new HashSet<>();
        for (FdtProperty property : properties) {
            if (!seen.add(property.name())) {
                throw new IllegalArgumentException("duplicate property \"" + property.name() + "\" in node \"" + name
                        + "\"");
            }
        }
        seen.clear();
        for (FdtNode child : children) {
            if (!seen.add(child.name())) {
                throw new IllegalArgumentException("duplicate child \"" + child.name() + "\" in node \"" + name + "\"");
            }
        }
    }

    /** The name without unit address: {@code "cpu"} for {@code "cpu@0"}. */
    public String baseName() {
        int at = name.indexOf('@');
        return at < 0 ? name : name.substring(0, at);
    }

    /** The unit address, {@code "0"} for {@code "cpu@0"}, if the name has one. */
    public Optional<String> unitAddress() {
        int at = name.indexOf('@');
        return at < 0 ? Optional.empty() : Optional.of(name.substring(at + 1));
    }

    /** The property with this name, if present. */
    public Optional<FdtProperty> property(String propertyName) {
        Objects.requireNonNull(propertyName, "propertyName");
        for (FdtProperty property : properties) {
            if (property.name().equals(propertyName)) {
                return Optional.of(property);
            }
        }
        return Optional.empty();
    }

    /**
     * The child with this name. As in libfdt, a name without {@code '@'} that matches no child
     * exactly matches the first child whose {@link #baseName()} equals it, so {@code "memory"} finds
     * {@code "memory@40000000"}.
     */
    public Optional<FdtNode> child(String childName) {
        Objects.requireNonNull(childName, "childName");
        for (FdtNode child : children) {
            if (child.name.equals(childName)) {
                return Optional.of(child);
            }
        }
        if (childName.indexOf('@') < 0) {
            for (FdtNode child : children) {
                if (child.baseName().equals(childName)) {
                    return Optional.of(child);
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "FdtNode[" + (name.isEmpty() ? "/" : name) + ", " + properties.size() + " properties, "
                + children.size() + " children]";
    }
}
