package dev.mesovirt.fdt.nodes;

import dev.mesovirt.fdt.FdtWriter;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * A device's interrupt as its node states it: the specifier's cells, in the binding of the controller (a GICv3's
 * three cells, an APLIC's two), and the controller's phandle unless the node inherits {@code interrupt-parent} from
 * an ancestor.
 */
public record Interrupts(OptionalInt parent, List<Integer> cells) {
    public Interrupts {
        Objects.requireNonNull(parent, "parent");
        cells = List.copyOf(cells);
    }

    /** An interrupt of the controller an ancestor's {@code interrupt-parent} names. */
    public static Interrupts inherited(int... cells) {
        return new Interrupts(OptionalInt.empty(), IntStream.of(cells).boxed().toList());
    }

    /** An interrupt of the controller whose phandle is {@code parent}. */
    public static Interrupts of(int parent, int... cells) {
        return new Interrupts(OptionalInt.of(parent), IntStream.of(cells).boxed().toList());
    }

    /** {@code interrupt-parent} (if the node names it) and {@code interrupts}. */
    void writeTo(FdtWriter fdt) {
        if (parent.isPresent()) {
            fdt.propertyU32("interrupt-parent", parent.getAsInt());
        }
        fdt.propertyCells("interrupts", cells.stream().mapToInt(Integer::intValue).toArray());
    }
}
