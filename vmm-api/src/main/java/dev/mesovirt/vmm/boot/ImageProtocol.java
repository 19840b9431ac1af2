package dev.mesovirt.vmm.boot;

import java.util.Objects;

/**
 * One architecture's version of the Linux Image boot protocol, as the data {@link ImageBoot} loads a guest by.
 *
 * @param format the header's magic, rules and words
 * @param placement the windows the device tree and the initrd must lie in
 * @param commandLineSize the kernel's COMMAND_LINE_SIZE, including the terminating NUL
 */
public record ImageProtocol(ImageFormat format, PlacementRules placement, int commandLineSize) {
    public ImageProtocol {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(placement, "placement");
    }
}
