package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of {@link BzImage#parse(byte[])}: random and mutated images must either parse or be rejected
 * with {@link InvalidKernelException}, never with another exception; images that parse must also survive
 * {@link KernelPlacement} (or be refused with {@link KernelPlacementException}) and {@link BootParams}.
 */
class BzImageFuzzTest {

    private static final long SEED = 0x6d65736f76697274L; // "mesovirt"
    private static final int ITERATIONS = 10_000;

    /** Offsets of the fields the parser reads, where a mutation is most interesting. */
    private static final int[] FIELDS = {
            0x1F1, 0x1F4, 0x1FE, 0x200, 0x201, 0x202, 0x206, 0x20E, 0x211, 0x22C, 0x230, 0x234, 0x235, 0x236,
            0x238, 0x248, 0x24C, 0x258, 0x25C, 0x260,
    };
    private static final long[] INTERESTING = {
            0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL,
            -1L, Long.MIN_VALUE, Long.MAX_VALUE,
    };

    @Test
    void randomAndMutatedHeadersOnlyEverThrowInvalidKernelException() {
        SplittableRandom random = new SplittableRandom(SEED);
        byte[] valid = SyntheticBzImage.create(4, 2048).build();
        int parsed = 0;
        int rejected = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] image = mutate(random, valid);
            try {
                BzImage k = BzImage.parse(image);
                parsed++;
                exercise(k, random);
            } catch (InvalidKernelException e) {
                rejected++;
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            } catch (RuntimeException e) {
                fail("iteration " + i + ": " + e + " for image of " + image.length + " bytes, header "
                        + hex(Arrays.copyOfRange(image, Math.min(0x1F0, image.length),
                                Math.min(0x270, image.length))), e);
            }
        }
        assertEquals(ITERATIONS, parsed + rejected);
        // The mutations are meant to hit both outcomes often.
        assertTrue(parsed > ITERATIONS / 20, "parsed only " + parsed);
        assertTrue(rejected > ITERATIONS / 4, "rejected only " + rejected);
    }

    private static byte[] mutate(SplittableRandom r, byte[] valid) {
        int kind = r.nextInt(10);
        if (kind == 0) {
            byte[] noise = new byte[r.nextInt(4096)];
            for (int i = 0; i < noise.length; i++) {
                noise[i] = (byte) r.nextInt(256);
            }
            return noise;
        }
        byte[] image = valid.clone();
        int mutations = 1 + r.nextInt(4);
        for (int m = 0; m < mutations; m++) {
            switch (r.nextInt(4)) {
                case 0 -> image[0x1E0 + r.nextInt(0x90)] = (byte) r.nextInt(256);
                case 1 -> put(image, FIELDS[r.nextInt(FIELDS.length)], INTERESTING[r.nextInt(INTERESTING.length)],
                        1 << r.nextInt(4));
                case 2 -> put(image, FIELDS[r.nextInt(FIELDS.length)], r.nextLong(), 1 << r.nextInt(4));
                default -> image[r.nextInt(image.length)] ^= (byte) (1 << r.nextInt(8));
            }
        }
        if (kind == 1) {
            image = Arrays.copyOf(image, r.nextInt(image.length + 1));
        }
        return image;
    }

    private static void put(byte[] image, int offset, long value, int width) {
        for (int i = 0; i < width && offset + i < image.length; i++) {
            image[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    private static void exercise(BzImage k, SplittableRandom r) {
        SetupHeader h = k.header();
        assertTrue(h.protocolVersion() >= BootProtocol.MIN_VERSION);
        assertTrue(h.hasXloadflag(BootProtocol.XLF_KERNEL_64));
        byte[] header = k.setupHeader();
        assertTrue(header.length >= 0x268 - 0x1F1 && header.length <= 0x290 - 0x1F1);
        assertEquals(k.protectedModeLength(), k.protectedModeCode().remaining());
        long lowRamEnd = (2L + r.nextInt(3000)) << 20;
        long initrd = r.nextInt(3) == 0 ? 0 : r.nextLong(1L << 32);
        try {
            KernelPlacement p = KernelPlacement.compute(k, lowRamEnd, initrd);
            assertTrue(p.kernelEnd() <= lowRamEnd);
            byte[] zeroPage = BootParams.builder(k)
                    .placement(p)
                    .commandLine(LowMemoryMap.CMDLINE_ADDR)
                    .e820(LowMemoryMap.e820(lowRamEnd, 0))
                    .build();
            assertEquals(BootProtocol.ZERO_PAGE_SIZE, zeroPage.length);
        } catch (KernelPlacementException e) {
            assertTrue(!e.getMessage().isBlank());
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }
}
