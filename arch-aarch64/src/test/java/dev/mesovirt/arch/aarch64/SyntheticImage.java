package dev.mesovirt.arch.aarch64;

import dev.mesovirt.vmm.boot.ImageHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds arm64 Image files for tests: a valid 64-byte header followed by recognisable "code". */
final class SyntheticImage {
    private SyntheticImage() {}

    static byte[] image(long textOffset, long imageSize, long flags, int length) {
        byte[] b = new byte[length];
        for (int i = ImageHeader.SIZE; i < length; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, 0x91005a4d); // "MZ" + add x13, x18, #0x16, as EFI-stub kernels start
        h.putInt(4, 0x14000000);
        h.putLong(8, textOffset);
        h.putLong(16, imageSize);
        h.putLong(24, flags);
        h.putInt(56, ArmImageHeader.MAGIC);
        h.putInt(60, 0x40);
        return b;
    }

    /** A Linux ≥ 5.8-like kernel: text_offset 0, 4 KiB pages, place anywhere; 64 KiB of file, 1 MiB image. */
    static byte[] standard() {
        return image(0, 1 << 20, 0b1010, 64 << 10);
    }
}
