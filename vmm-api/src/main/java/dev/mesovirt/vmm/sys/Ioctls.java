package dev.mesovirt.vmm.sys;

/**
 * The {@code _IOC} request encoding of asm-generic/ioctl.h, which x86_64, arm64 and riscv64 share:
 * direction in bits 30-31, argument size in bits 16-29, type in bits 8-15, number in bits 0-7.
 */
public final class Ioctls {
    public static final int NONE = 0;
    public static final int WRITE = 1;
    public static final int READ = 2;

    private static final int SIZE_BITS = 14;

    private Ioctls() {}

    public static long ioc(int direction, int type, int number, int size) {
        if (size < 0 || size >= (1 << SIZE_BITS)) {
            throw new IllegalArgumentException("ioctl argument size out of range: " + size);
        }
        return ((long) direction << 30) | ((long) size << 16) | ((long) (type & 0xff) << 8) | (number & 0xff);
    }

    public static long io(int type, int number) {
        return ioc(NONE, type, number, 0);
    }

    public static long ior(int type, int number, int size) {
        return ioc(READ, type, number, size);
    }

    public static long iow(int type, int number, int size) {
        return ioc(WRITE, type, number, size);
    }

    public static long iowr(int type, int number, int size) {
        return ioc(READ | WRITE, type, number, size);
    }
}
