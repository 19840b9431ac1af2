package dev.mesovirt.vmm.firmware;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * A firmware image for a pflash unit ({@code -drive file=F,if=pflash,unit=N[,readonly=on]}), checked before any of
 * it reaches the guest: a regular file of whole 4 KiB erase blocks (the block size EDK2's flash driver assumes)
 * that starts with a UEFI firmware volume, as every image of Debian's {@code ovmf} package does (OVMF_CODE's first
 * volume holds the code, OVMF_VARS's the variable store). Whether the code is for this machine's instruction set is
 * the architecture's question ({@code Architecture.firmwareMismatch}), asked with {@link #tail()}.
 *
 * @param unit the pflash unit: 0 the code (mapped at the top, ending at 4 GiB on x86), 1 the variable store below
 * @param file the image; a writable unit writes the guest's changes back to it
 * @param readOnly whether the guest may program and erase it (the code unit: readonly=on)
 * @param size its length in bytes
 */
public record FlashImage(int unit, Path file, boolean readOnly, long size) {
    /** The signature of EFI_FIRMWARE_VOLUME_HEADER ("_FVH"), at offset 0x28 of a volume (PI spec, volume 3). */
    static final int FV_SIGNATURE_OFFSET = 0x28;
    static final byte[] FV_SIGNATURE = {'_', 'F', 'V', 'H'};
    /** QEMU's limit for the flash units of an x86 machine together (they sit in the 4 GiB hole's top). */
    public static final long TOTAL_LIMIT = 8L << 20;
    /** QEMU's arm64 virt board: two banks of 64 MiB each (Debian's AAVMF images are exactly that). */
    public static final long ARM_VIRT_UNIT_LIMIT = 64L << 20;
    /**
     * arm64's AAVMF code image starts with a branch over its first 4 KiB (its reset vector at address 0), so its first
     * volume's signature is there.
     */
    static final int AARCH64_FV_OFFSET = 0x1000;

    public FlashImage {
        Objects.requireNonNull(file, "file");
    }

    /**
     * Checks {@code file} for {@code unit}; IllegalArgumentException with a message for the user that names the
     * drive and says what is wrong (missing, unreadable, empty, not whole 4 KiB blocks, no firmware volume).
     */
    public static FlashImage open(int unit, Path file, boolean readOnly) {
        return open(unit, file, readOnly, TOTAL_LIMIT);
    }

    /**
     * As {@link #open(int, Path, boolean)}, for a machine whose units may each be up to {@code limit} bytes. Also
     * accepted: the volume behind a 4 KiB reset-vector page (AAVMF's code image), and for a unit other than 0 a blank
     * variable store (its first 4 KiB all 0x00 or all 0xFF, as Debian's AAVMF_VARS.fd ships: the firmware formats it).
     */
    public static FlashImage open(int unit, Path file, boolean readOnly, long limit) {
        String what = "pflash unit " + unit + " (" + file + ")";
        long size;
        ByteBuffer head = ByteBuffer.allocate(AARCH64_FV_OFFSET + FV_SIGNATURE_OFFSET + FV_SIGNATURE.length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(what + ": not a regular file");
            }
            size = ch.size();
            while (head.hasRemaining() && ch.read(head, head.position()) > 0) {
                // read() may return short counts; loop until the header is in or the file ends
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(what + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot read: " + e.getMessage(), e);
        }
        if (size == 0) {
            throw new IllegalArgumentException(what + ": empty file");
        }
        if (size % CfiFlash.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException(what + ": " + size + " bytes is not a whole number of 4 KiB flash"
                    + " blocks (truncated? Debian's OVMF_CODE_4M.fd is 3653632 bytes, OVMF_VARS_4M.fd 540672)");
        }
        if (size > limit) {
            throw new IllegalArgumentException(what + ": " + size + " bytes is more than the " + (limit >> 20)
                    + " MiB the flash may take");
        }
        if (!hasVolume(head, FV_SIGNATURE_OFFSET) && !hasVolume(head, AARCH64_FV_OFFSET + FV_SIGNATURE_OFFSET)
                && !(unit > 0 && blank(head, (int) Math.min(size, AARCH64_FV_OFFSET)))) {
            throw new IllegalArgumentException(what + ": not a UEFI firmware image (no firmware volume signature"
                    + " _FVH at offset 0x28)");
        }
        return new FlashImage(unit, file, readOnly, size);
    }

    private static boolean hasVolume(ByteBuffer head, int at) {
        byte[] sig = new byte[FV_SIGNATURE.length];
        if (at + sig.length > head.position()) {
            return false;
        }
        head.get(at, sig);
        return java.util.Arrays.equals(sig, FV_SIGNATURE);
    }

    private static boolean blank(ByteBuffer head, int length) {
        if (head.position() < length || length == 0) {
            return false;
        }
        byte first = head.get(0);
        if (first != 0 && first != (byte) 0xFF) {
            return false;
        }
        for (int i = 1; i < length; i++) {
            if (head.get(i) != first) {
                return false;
            }
        }
        return true;
    }

    /** The image's first 16 bytes: where an arm64 CPU starts (address 0) for unit 0 on the virt board. */
    public byte[] head() {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(16);
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                // short reads: loop until the 16 bytes are in or the file ends
            }
            return b.array();
        } catch (IOException e) {
            throw new IllegalArgumentException("pflash unit " + unit + " (" + file + "): cannot read: "
                    + e.getMessage(), e);
        }
    }

    /** The image's last 16 bytes: where an x86 CPU's reset vector lands (4 GiB - 16) for the top unit. */
    public byte[] tail() {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(16);
            while (b.hasRemaining() && ch.read(b, size - 16 + b.position()) > 0) {
                // as above
            }
            return b.array();
        } catch (IOException e) {
            throw new IllegalArgumentException("pflash unit " + unit + " (" + file + "): cannot read: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Checks the units of one machine together: units 0, 1, ... without gaps, each once, within {@link #TOTAL_LIMIT}
     * together. Returns them ordered by unit.
     */
    public static java.util.List<FlashImage> checkSet(java.util.List<FlashImage> units) {
        return checkSet(units, TOTAL_LIMIT);
    }

    /**
     * As {@link #checkSet(java.util.List)}, within {@code totalLimit} bytes together ({@link Long#MAX_VALUE}: the
     * machine's architecture checks the sizes where it places the units).
     */
    public static java.util.List<FlashImage> checkSet(java.util.List<FlashImage> units, long totalLimit) {
        java.util.List<FlashImage> sorted = new java.util.ArrayList<>(units);
        sorted.sort(java.util.Comparator.comparingInt(FlashImage::unit));
        long total = 0;
        for (int i = 0; i < sorted.size(); i++) {
            if (sorted.get(i).unit() != i) {
                throw new IllegalArgumentException(i > 0 && sorted.get(i).unit() == sorted.get(i - 1).unit()
                        ? "pflash unit " + sorted.get(i).unit() + " is given twice"
                        : "pflash unit " + i + " is missing (units go 0, 1, ... : unit 0 the code, 1 the variables)");
            }
            total += sorted.get(i).size();
        }
        if (total > totalLimit) {
            throw new IllegalArgumentException("the pflash units take " + total + " bytes together, more than the "
                    + (totalLimit >> 20) + " MiB below 4 GiB they may take");
        }
        return java.util.List.copyOf(sorted);
    }
}
