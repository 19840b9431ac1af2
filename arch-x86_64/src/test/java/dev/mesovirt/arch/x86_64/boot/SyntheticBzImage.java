package dev.mesovirt.arch.x86_64.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds small fake bzImages for tests: a real-mode part with a protocol 2.15 setup header shaped like a Debian
 * kernel's (relocatable, 2 MiB alignment, pref_address 16 MiB), followed by a protected-mode part of arbitrary
 * bytes. Fields can be overwritten at absolute offsets before {@link #build()}.
 */
final class SyntheticBzImage {

    static final String VERSION_STRING = "6.1.0-test-amd64 (test@example) #1 SMP";
    static final int SETUP_SECTS = 4;
    static final long INIT_SIZE = 32L << 20;
    static final long PREF_ADDRESS = 16L << 20;
    static final long KERNEL_ALIGNMENT = 2L << 20;

    private final ByteBuffer buf;

    private SyntheticBzImage(int setupSects, int protectedModeLength) {
        int setupBytes = (setupSects + 1) * 512;
        buf = ByteBuffer.allocate(setupBytes + protectedModeLength).order(ByteOrder.LITTLE_ENDIAN);
        // Boot sector filler, and a sentinel value the loader must not copy.
        for (int i = 0; i < 0x1F1; i++) {
            buf.put(i, (byte) 0xCC);
        }
        buf.put(BootProtocol.ZP_SENTINEL, (byte) 0xFF);
        buf.put(0x1F1, (byte) setupSects);
        buf.putInt(0x1F4, protectedModeLength / 16);
        buf.putShort(0x1FE, (short) 0xAA55);
        buf.put(0x200, (byte) 0xEB);
        buf.put(0x201, (byte) (BootProtocol.HDR_END_2_15 - 0x202));
        buf.putInt(0x202, 0x53726448);
        buf.putShort(0x206, (short) 0x020F);
        buf.putShort(0x20E, (short) 0x200); // version string at file offset 0x400
        buf.put(0x211, (byte) BootProtocol.LOADED_HIGH);
        buf.putInt(0x214, 0x100000);
        buf.putInt(0x22C, 0x7FFF_FFFF);
        buf.putInt(0x230, (int) KERNEL_ALIGNMENT);
        buf.put(0x234, (byte) 1);
        buf.put(0x235, (byte) 21);
        buf.putShort(0x236, (short) (BootProtocol.XLF_KERNEL_64 | BootProtocol.XLF_CAN_BE_LOADED_ABOVE_4G));
        buf.putInt(0x238, 2047);
        buf.putInt(0x248, 0x100);
        buf.putInt(0x24C, Math.max(0, protectedModeLength - 0x200));
        buf.putLong(0x258, PREF_ADDRESS);
        buf.putInt(0x260, (int) INIT_SIZE);
        // Real-mode code right after the header: not header bytes, must not be copied into the zero page.
        for (int i = BootProtocol.HDR_END_2_15; i < 0x400; i++) {
            buf.put(i, (byte) 0xEE);
        }
        byte[] version = (VERSION_STRING + "\0").getBytes(StandardCharsets.US_ASCII);
        buf.put(0x400, version);
        for (int i = setupBytes; i < buf.capacity(); i++) {
            buf.put(i, (byte) (i * 31 + 7));
        }
    }

    static SyntheticBzImage create() {
        return new SyntheticBzImage(SETUP_SECTS, 8192);
    }

    static SyntheticBzImage create(int setupSects, int protectedModeLength) {
        return new SyntheticBzImage(setupSects, protectedModeLength);
    }

    static BzImage parsed() {
        try {
            return BzImage.parse(create().build());
        } catch (InvalidKernelException e) {
            throw new AssertionError(e);
        }
    }

    SyntheticBzImage u8(int offset, int value) {
        buf.put(offset, (byte) value);
        return this;
    }

    SyntheticBzImage u16(int offset, int value) {
        buf.putShort(offset, (short) value);
        return this;
    }

    SyntheticBzImage u32(int offset, long value) {
        buf.putInt(offset, (int) value);
        return this;
    }

    SyntheticBzImage u64(int offset, long value) {
        buf.putLong(offset, value);
        return this;
    }

    byte[] build() {
        return buf.array().clone();
    }
}
