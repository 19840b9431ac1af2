package dev.mesovirt.vmm.boot;

import java.util.List;
import java.util.Objects;

/**
 * What one architecture's kernel {@code Image} adds to the header layout {@link ImageHeader} reads: the magic at
 * offset 56 that marks it, the rules its text_offset and image_size follow, and the words its error messages use.
 *
 * @param isa the architecture as Linux names it ({@code arm64}), in messages
 * @param imageName the file the magic identifies, with its article ({@code an arm64 Image})
 * @param magic the little-endian u32 at offset 56
 * @param magicText the magic as messages print it ({@code ARM\x64})
 * @param otherMagics magics at offset 56 that mark another architecture's kernel, to name it in the error
 * @param gzipName what a gzip-compressed kernel of this architecture is usually called ({@code vmlinuz.gz})
 * @param elfName what an ELF kernel file probably is ({@code vmlinux})
 * @param imagePath where a kernel build leaves the bootable Image ({@code arch/arm64/boot/Image})
 * @param fieldChecks the checks of text_offset and image_size, in the order the architecture makes them: a header
 *     that breaks two rules is reported by the first
 */
public record ImageFormat(String isa, String imageName, int magic, String magicText, List<OtherMagic> otherMagics,
        String gzipName, String elfName, String imagePath, List<FieldCheck> fieldChecks) {
    public ImageFormat {
        Objects.requireNonNull(isa, "isa");
        otherMagics = List.copyOf(otherMagics);
        fieldChecks = List.copyOf(fieldChecks);
    }

    /** Another architecture's magic at offset 56; {@code kernel} says what the file is ("it is an arm64 Image"). */
    public record OtherMagic(int magic, String kernel) {}

    /** A rule for text_offset or image_size beyond the ones every architecture has. */
    public sealed interface FieldCheck {
        /**
         * text_offset is a multiple of {@code alignment} from 0 to {@code max}; {@code requirement} says so in the
         * message ("must be a page multiple below 2 MiB").
         */
        record TextOffset(long alignment, long max, String requirement) implements FieldCheck {}

        /**
         * image_size is not 0: without it the kernel's footprint is unknown. {@code note} follows "has image_size 0"
         * in the message (" (a kernel older than Linux 3.17)", or nothing).
         */
        record ImageSizeKnown(String note) implements FieldCheck {}
    }
}
