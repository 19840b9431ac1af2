package dev.mesovirt.vmm.boot;

import java.util.Objects;
import java.util.Optional;

/**
 * What one architecture's boot protocol adds to the placement every Image gets ({@link BootPlacement}).
 *
 * @param bootWindow bytes from the start of RAM that the device tree and the initrd must lie in, or
 *     {@link #WHOLE_RAM}
 * @param initrdWindow the aligned window around the kernel that must also hold the initrd, where the architecture
 *     has one
 * @param footprint how the "too little memory" error explains the kernel's footprint ("its image_size")
 */
public record PlacementRules(long bootWindow, Optional<Window> initrdWindow, String footprint) {
    /** No boot window: the device tree goes at the very end of RAM. */
    public static final long WHOLE_RAM = Long.MAX_VALUE;

    public PlacementRules {
        Objects.requireNonNull(initrdWindow, "initrdWindow");
        Objects.requireNonNull(footprint, "footprint");
    }

    /** {@code size} bytes from the kernel's load address rounded down to {@code alignment}. */
    public record Window(long alignment, long size) {}
}
