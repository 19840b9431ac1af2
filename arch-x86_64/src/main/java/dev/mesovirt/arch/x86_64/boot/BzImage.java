package dev.mesovirt.arch.x86_64.boot;

import static dev.mesovirt.arch.x86_64.boot.BootProtocol.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * A validated Linux x86 bzImage ({@code vmlinuz}) that can be booted through the 64-bit boot protocol.
 *
 * <p>The file is the real-mode part (boot sector plus {@code setup_sects} sectors of setup code, carrying the
 * setup header at 0x1F1) followed by the protected-mode kernel at {@code (setup_sects + 1) * 512}. A 64-bit
 * loader never runs the real-mode code: it copies the setup header into a zeroed zero page
 * ({@link BootParams}), loads the protected-mode part at the load address ({@link KernelPlacement}) and enters
 * it in long mode at load address + 0x200.
 *
 * <p>Requirements checked by {@link #parse(byte[])}, each failure being an {@link InvalidKernelException}:
 * boot flag 0xAA55 at 0x1FE, "HdrS" at 0x202, protocol version at least 2.12 with {@code XLF_KERNEL_64} in
 * {@code xloadflags} (see {@link BootProtocol#MIN_VERSION} for why 2.12), {@code LOADED_HIGH} in
 * {@code loadflags}, a setup header length (from the jump at 0x200) that fits {@code struct boot_params}, and a
 * file long enough for what the header announces. ELF {@code vmlinux} files, compressed files, cpio archives
 * and arm64/riscv64 {@code Image}s are recognised and rejected with a message that says what they are.
 */
public final class BzImage {

    /** Largest file {@link #parse(Path)} reads; real bzImages are 5-20 MiB. */
    public static final long MAX_IMAGE_SIZE = 512L << 20;

    private static final int MIN_LENGTH_FOR_MAGIC = HDR_VERSION + 2;
    /** A 2.12 header runs through {@code handover_offset} (2.11+). */
    private static final int MIN_HEADER_END = HDR_KERNEL_INFO_OFFSET;
    private static final int MAX_VERSION_STRING = 256;

    private final byte[] image;
    private final SetupHeader header;
    private final int headerEnd;
    private final int protectedModeOffset;

    private BzImage(byte[] image, SetupHeader header, int headerEnd, int protectedModeOffset) {
        this.image = image;
        this.header = header;
        this.headerEnd = headerEnd;
        this.protectedModeOffset = protectedModeOffset;
    }

    /**
     * Reads and parses a bzImage file (read once, whole).
     *
     * @throws InvalidKernelException if the file is not a bootable bzImage; the message starts with the path
     * @throws IOException            if the file cannot be read
     */
    public static BzImage parse(Path path) throws IOException, InvalidKernelException {
        Objects.requireNonNull(path, "path");
        long size = Files.size(path);
        if (size > MAX_IMAGE_SIZE) {
            throw new InvalidKernelException(path + ": " + size + " bytes is too large for a bzImage (at most "
                    + (MAX_IMAGE_SIZE >> 20) + " MiB)");
        }
        byte[] bytes = Files.readAllBytes(path);
        try {
            return parse(bytes);
        } catch (InvalidKernelException e) {
            throw new InvalidKernelException(path + ": " + e.getMessage());
        }
    }

    /**
     * Parses and validates a bzImage held in memory. The array is kept, not copied: the caller must not modify
     * it afterwards.
     *
     * @throws InvalidKernelException if the bytes are not a bootable bzImage
     */
    public static BzImage parse(byte[] image) throws InvalidKernelException {
        Objects.requireNonNull(image, "image");
        rejectOtherFormats(image);
        if (image.length < MIN_LENGTH_FOR_MAGIC) {
            throw new InvalidKernelException("not a bzImage: file is only " + image.length
                    + " bytes, too short to hold a setup header");
        }
        ByteBuffer buf = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);

        int bootFlag = u16(buf, HDR_BOOT_FLAG);
        if (bootFlag != BOOT_FLAG_MAGIC) {
            throw new InvalidKernelException(String.format(
                    "not a bzImage: missing boot flag 0xAA55 at 0x1FE (found 0x%04X)", bootFlag));
        }
        if (buf.getInt(HDR_HEADER) != HDRS_MAGIC) {
            throw new InvalidKernelException("not a bzImage: missing HdrS magic at 0x202"
                    + " (a very old zImage/Image kernel, or not a kernel)");
        }
        int version = u16(buf, HDR_VERSION);
        if (version < MIN_VERSION) {
            throw new InvalidKernelException("boot protocol " + versionString(version)
                    + " too old: need " + versionString(MIN_VERSION) + " for the 64-bit entry (Linux 3.8 or later)");
        }

        int headerEnd = HDR_HEADER + u8(buf, HDR_JUMP + 1);
        if (headerEnd < MIN_HEADER_END || headerEnd > HDR_ROOM_END) {
            throw new InvalidKernelException(String.format(
                    "not a bzImage: the jump at 0x200 says the setup header ends at 0x%X, outside 0x%X..0x%X"
                            + " for boot protocol %s", headerEnd, MIN_HEADER_END, HDR_ROOM_END,
                    versionString(version)));
        }
        if (image.length < headerEnd) {
            throw new InvalidKernelException("truncated bzImage: file is " + image.length
                    + " bytes but the setup header ends at 0x" + Integer.toHexString(headerEnd).toUpperCase());
        }

        int loadflags = u8(buf, HDR_LOADFLAGS);
        if ((loadflags & LOADED_HIGH) == 0) {
            throw new InvalidKernelException(
                    "not a bzImage: LOADED_HIGH is clear in loadflags (0x211), a zImage loaded at 0x10000 is not supported");
        }
        int xloadflags = u16(buf, HDR_XLOADFLAGS);
        if ((xloadflags & XLF_KERNEL_64) == 0) {
            throw new InvalidKernelException(String.format(
                    "kernel has no 64-bit entry point: XLF_KERNEL_64 is clear in xloadflags (0x%04X);"
                            + " a 32-bit kernel cannot be booted", xloadflags));
        }

        int setupSects = u8(buf, HDR_SETUP_SECTS);
        if (setupSects == 0) {
            setupSects = 4;
        }
        int protectedModeOffset = (setupSects + 1) * SECTOR_SIZE;
        if (protectedModeOffset >= image.length) {
            throw new InvalidKernelException("truncated bzImage: file is " + image.length
                    + " bytes but setup_sects=" + setupSects + " puts the protected-mode kernel at 0x"
                    + Integer.toHexString(protectedModeOffset).toUpperCase());
        }
        long protectedModeLength = image.length - protectedModeOffset;

        long syssize = u32(buf, HDR_SYSSIZE);
        if (syssize * 16 > protectedModeLength) {
            throw new InvalidKernelException("truncated bzImage: syssize says the protected-mode kernel is "
                    + syssize * 16 + " bytes but the file holds only " + protectedModeLength);
        }
        long payloadOffset = u32(buf, HDR_PAYLOAD_OFFSET);
        long payloadLength = u32(buf, HDR_PAYLOAD_LENGTH);
        if (payloadOffset + payloadLength > protectedModeLength) {
            throw new InvalidKernelException("truncated bzImage: the compressed payload (offset " + payloadOffset
                    + ", length " + payloadLength + ") runs past the " + protectedModeLength
                    + "-byte protected-mode kernel");
        }

        boolean relocatable = u8(buf, HDR_RELOCATABLE_KERNEL) != 0;
        long kernelAlignment = u32(buf, HDR_KERNEL_ALIGNMENT);
        if (relocatable && Long.bitCount(kernelAlignment) != 1) {
            throw new InvalidKernelException(String.format(
                    "invalid bzImage: kernel_alignment 0x%X of a relocatable kernel is not a power of two",
                    kernelAlignment));
        }
        long prefAddress = buf.getLong(HDR_PREF_ADDRESS);
        if (prefAddress < 0 || prefAddress > 0xFFFF_FFFFL) {
            throw new InvalidKernelException(String.format(
                    "invalid bzImage: pref_address 0x%X is above 4 GiB", prefAddress));
        }
        long initSize = u32(buf, HDR_INIT_SIZE);
        if (initSize == 0) {
            throw new InvalidKernelException("invalid bzImage: init_size is 0");
        }

        SetupHeader header = new SetupHeader(
                version,
                setupSects,
                loadflags,
                xloadflags,
                kernelAlignment,
                relocatable,
                u8(buf, HDR_MIN_ALIGNMENT),
                u32(buf, HDR_INITRD_ADDR_MAX),
                u32(buf, HDR_CMDLINE_SIZE),
                prefAddress,
                initSize,
                payloadOffset,
                payloadLength,
                syssize,
                readVersionString(image, u16(buf, HDR_KERNEL_VERSION), protectedModeOffset));
        return new BzImage(image, header, headerEnd, protectedModeOffset);
    }

    /** The parsed header fields. */
    public SetupHeader header() {
        return header;
    }

    /**
     * A copy of the raw setup header, file bytes 0x1F1 up to (excluding) {@code 0x202 + image[0x201]}, exactly
     * what belongs at 0x1F1 of a zeroed zero page before the loader's own fields are written.
     */
    public byte[] setupHeader() {
        return Arrays.copyOfRange(image, HDR_START, headerEnd);
    }

    /** End (exclusive, absolute offset) of the setup header: {@code 0x202 + image[0x201]}. */
    public int setupHeaderEnd() {
        return headerEnd;
    }

    /** File offset of the protected-mode kernel: {@code (setup_sects + 1) * 512}. */
    public int protectedModeOffset() {
        return protectedModeOffset;
    }

    /** Length of the protected-mode kernel: everything in the file after {@link #protectedModeOffset()}. */
    public int protectedModeLength() {
        return image.length - protectedModeOffset;
    }

    /**
     * A read-only little-endian view (no copy) of the protected-mode kernel, the bytes to load at the kernel load
     * address; position 0, limit {@link #protectedModeLength()}.
     */
    public ByteBuffer protectedModeCode() {
        return ByteBuffer.wrap(image, protectedModeOffset, protectedModeLength()).slice()
                .asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A copy of the real-mode part: the boot sector and the setup sectors, up to {@link #protectedModeOffset()}. */
    public byte[] setup() {
        return Arrays.copyOfRange(image, 0, protectedModeOffset);
    }

    /** Size of the whole file in bytes. */
    public int size() {
        return image.length;
    }

    @Override
    public String toString() {
        return "BzImage[protocol " + header.protocolVersionString() + ", " + image.length + " bytes"
                + (header.kernelVersion().isEmpty() ? "" : ", " + header.kernelVersion()) + "]";
    }

    // ---------------------------------------------------------------- helpers

    private static void rejectOtherFormats(byte[] b) throws InvalidKernelException {
        if (b.length == 0) {
            throw new InvalidKernelException("not a bzImage: the file is empty");
        }
        if (startsWith(b, 0, 0x7F, 'E', 'L', 'F')) {
            throw new InvalidKernelException(
                    "ELF vmlinux given: PVH boot is not supported yet; pass the bzImage (vmlinuz)");
        }
        if (startsWith(b, 0, 0x1F, 0x8B)) {
            throw new InvalidKernelException("gzip-compressed file given (an initrd, or a compressed vmlinux?):"
                    + " pass the bzImage (vmlinuz)");
        }
        if (startsWith(b, 0, 0x28, 0xB5, 0x2F, 0xFD)) {
            throw new InvalidKernelException("zstd-compressed file given: pass the bzImage (vmlinuz)");
        }
        if (startsWith(b, 0, 0xFD, '7', 'z', 'X', 'Z', 0)) {
            throw new InvalidKernelException("xz-compressed file given: pass the bzImage (vmlinuz)");
        }
        if (startsWith(b, 0, '0', '7', '0', '7', '0')) {
            throw new InvalidKernelException("cpio archive given (an initrd?): pass the bzImage (vmlinuz)");
        }
        if (startsWith(b, 0x38, 'A', 'R', 'M', 0x64)) {
            throw new InvalidKernelException("arm64 kernel Image given: this is the x86_64 loader");
        }
        if (startsWith(b, 0x38, 'R', 'S', 'C', 0x05)) {
            throw new InvalidKernelException("riscv64 kernel Image given: this is the x86_64 loader");
        }
    }

    private static boolean startsWith(byte[] b, int offset, int... magic) {
        if (b.length < offset + magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((b[offset + i] & 0xFF) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    /** The NUL-terminated printable-ASCII string at {@code pointer + 0x200}, inside the setup area, or "". */
    private static String readVersionString(byte[] image, int pointer, int setupEnd) {
        if (pointer == 0) {
            return "";
        }
        int start = pointer + 0x200;
        int end = Math.min(setupEnd, start + MAX_VERSION_STRING);
        StringBuilder sb = new StringBuilder();
        for (int i = start; i < end; i++) {
            int c = image[i] & 0xFF;
            if (c == 0) {
                return sb.toString();
            }
            if (c < 0x20 || c > 0x7E) {
                return "";
            }
            sb.append((char) c);
        }
        return "";
    }

    private static int u8(ByteBuffer b, int offset) {
        return b.get(offset) & 0xFF;
    }

    private static int u16(ByteBuffer b, int offset) {
        return b.getShort(offset) & 0xFFFF;
    }

    private static long u32(ByteBuffer b, int offset) {
        return b.getInt(offset) & 0xFFFF_FFFFL;
    }
}
