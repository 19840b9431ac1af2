package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootException;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.boot.BootPlacement;
import dev.mesovirt.vmm.boot.ImageFormat;
import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;
import dev.mesovirt.vmm.boot.PlacementRules;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Golden files: what a piece of code produced, one line per case, compared with the text a test keeps beside its
 * class. They pin behaviour across a refactoring: the same inputs must give the same bytes and the same messages.
 * On a mismatch the actual text goes to {@code target/golden/} for a diff (and, if the change is meant, to be copied
 * over the resource).
 */
public final class Golden {
    private Golden() {}

    /** Fails unless {@code lines} are exactly the resource {@code name} next to {@code owner}. */
    public static void assertMatches(Class<?> owner, String name, List<String> lines) throws IOException {
        String actual = String.join("\n", lines) + "\n";
        String expected;
        try (InputStream in = owner.getResourceAsStream(name)) {
            expected = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!expected.equals(actual)) {
            Path out = Path.of("target", "golden", owner.getSimpleName() + "-" + name);
            Files.createDirectories(out.getParent());
            Files.writeString(out, actual);
        }
        assertEquals(expected, actual, "golden file " + name + " (the actual text is in target/golden/)");
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Many outcomes in a few lines: how many, the digest of all of them in order, and how often each kind occurs
     * (an outcome with its numbers masked), so that a change shows which kind moved.
     */
    public static List<String> summary(String label, List<String> outcomes) {
        Map<String, Integer> kinds = new TreeMap<>();
        for (String o : outcomes) {
            kinds.merge(o.replaceAll("0x[0-9a-f]+|[0-9]+", "#"), 1, Integer::sum);
        }
        String all = sha256(String.join("\n", outcomes).getBytes(StandardCharsets.UTF_8));
        List<String> lines = new ArrayList<>();
        lines.add(label + ": " + outcomes.size() + " cases, sha256 " + all);
        kinds.forEach((kind, n) -> lines.add(label + ":   " + n + " x " + kind));
        return lines;
    }

    /**
     * One boot through {@link Architecture#loadGuest} into fresh guest memory, as one line: the plan and the digest
     * of the device tree it wrote (less its random seed, which {@code seedOf} finds in the blob), or the
     * BootException's message with {@code dir} written as $DIR. The kernel and initrd must be in RAM unchanged.
     */
    public static String loadOutcome(Architecture arch, MemoryLayout layout, BootRequest request, Path dir,
            Function<byte[], byte[]> seedOf) throws IOException {
        try (GuestMemory memory = GuestMemory.allocate(layout.ram())) {
            BootPlan plan = arch.loadGuest(memory, layout, request);
            byte[] kernel = Files.readAllBytes(request.kernel());
            assertArrayEquals(kernel, memory.read(plan.kernelStart(), kernel.length));
            if (request.initrd().isPresent()) {
                byte[] initrd = Files.readAllBytes(request.initrd().get());
                assertArrayEquals(initrd, memory.read(plan.initrdStart(), initrd.length));
            }
            // totalsize: the header's second big-endian u32.
            byte[] dtb = memory.read(plan.firmwareAddress(), Integer.reverseBytes(memory.readInt(plan.firmwareAddress() + 4)));
            byte[] seed = seedOf.apply(dtb);
            assertNotNull(seed, "no rng-seed");
            int at = new String(dtb, StandardCharsets.ISO_8859_1).indexOf(new String(seed, StandardCharsets.ISO_8859_1));
            Arrays.fill(dtb, at, at + seed.length, (byte) 0);
            return String.format("entry 0x%x dtb 0x%x kernel 0x%x-0x%x initrd 0x%x+0x%x cmdline %d bytes, dtb %d bytes "
                    + "sha256 %s", plan.entry(), plan.firmwareAddress(), plan.kernelStart(), plan.kernelEnd(),
                    plan.initrdStart(), plan.initrdSize(), plan.commandLine().length(), dtb.length, sha256(dtb));
        } catch (BootException e) {
            return "BootException: " + e.getMessage().replace(dir.toString(), "$DIR");
        }
    }

    /** Writes a kernel Image file whose 64-byte header has these fields and a valid magic. */
    @FunctionalInterface
    public interface ImageFactory {
        byte[] image(long textOffset, long imageSize, long flags, int length);
    }

    private static final long MIB = 1L << 20;

    /** The header parser's outcome: "ok" and the fields, or the message that rejects the input. */
    static String parse(byte[] head, long fileSize, ImageFormat format) {
        try {
            ImageHeader h = ImageHeader.parse(head, fileSize, format);
            return "ok " + h.textOffset() + " " + h.imageSize() + " " + h.flags();
        } catch (InvalidImageException e) {
            return e.getMessage();
        }
    }

    /**
     * The header parser over mutated valid headers (from {@code valid}, 1 to 6 random bytes of the header changed),
     * every combination of notable text_offset, image_size and flags values, files cut short around the header,
     * and the formats people boot by mistake (compressed kernels, ELF, zboot, an x86 bzImage, another ISA's magic).
     */
    public static List<String> headerOutcomes(ImageFormat format, ImageFactory image, long validTextOffset,
            int otherMagic) {
        List<String> out = new ArrayList<>();
        Random r = new Random(64);
        for (int i = 0; i < 5_000; i++) {
            byte[] b = image.image(validTextOffset, 1 << 22, 0xa, 128);
            for (int k = 0; k < 1 + r.nextInt(6); k++) {
                b[r.nextInt(64)] = (byte) r.nextInt(256);
            }
            out.add(parse(b, b.length, format));
        }
        long[] offsets = {0, 0x1000, 0x80000, 0x123, 2 * MIB - 4096, 2 * MIB, 1L << 30, (1L << 30) + 2 * MIB, -1};
        long[] sizes = {0, 1, MIB, 1L << 34, (1L << 34) + 1, -1};
        for (long t : offsets) {
            for (long s : sizes) {
                for (long f : new long[] {0, 1, 0xa, 0xb, 0b110}) {
                    out.add(parse(image.image(t, s, f, 4096), 4096, format));
                }
            }
        }
        byte[] valid = image.image(validTextOffset, MIB, 0, 4096);
        for (long fileSize : new long[] {0, 10, 63, 64, 65}) {
            out.add(parse(Arrays.copyOf(valid, (int) Math.min(fileSize, 1024)), fileSize, format));
        }
        byte[] bz = new byte[0x400];
        bz[0x202] = 'H';
        bz[0x203] = 'd';
        bz[0x204] = 'r';
        bz[0x205] = 'S';
        byte[] other = valid.clone();
        ByteBuffer.wrap(other).order(ByteOrder.LITTLE_ENDIAN).putInt(56, otherMagic);
        for (byte[] foreign : List.of(new byte[] {0x1f, (byte) 0x8b, 8, 0}, new byte[] {0x7f, 'E', 'L', 'F', 2, 1},
                new byte[] {'M', 'Z', 0, 0, 'z', 'i', 'm', 'g'}, new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd},
                new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0}, bz, other, new byte[0])) {
            out.add(parse(foreign, foreign.length, format));
        }
        return out;
    }

    /**
     * The placement from {@code ramStart} with {@code rules} over RAM sizes, kernels and initrds from roomy to
     * impossible: the addresses, or the message that says the guest does not fit.
     */
    public static List<String> placementOutcomes(long ramStart, PlacementRules rules) {
        List<String> out = new ArrayList<>();
        long[] rams = {16 * MIB, 32 * MIB, 64 * MIB, 256 * MIB, 257 * MIB, 1024 * MIB, 1026 * MIB, 8L << 30, 64L << 30};
        long[] initrds = {0, 1, 4096, 10 * MIB + 123, 61 * MIB + 1, 100 * MIB, 2L << 30, 40L << 30};
        for (long ram : rams) {
            for (long t : new long[] {0, 0x80000, 2 * MIB}) {
                for (long s : new long[] {MIB, 40 * MIB, 0x2a2_0000L}) {
                    for (long file : new long[] {MIB, 35 * MIB}) {
                        for (long initrd : initrds) {
                            out.add(place(ramStart, ram, new ImageHeader(t, s, 0xa), file, initrd, rules));
                        }
                    }
                }
            }
        }
        return out;
    }

    private static String place(long ramStart, long ram, ImageHeader kernel, long file, long initrd,
            PlacementRules rules) {
        try {
            BootPlacement p = BootPlacement.compute(ramStart, ram, kernel, file, initrd, rules);
            return String.format("0x%x 0x%x 0x%x 0x%x 0x%x", p.kernelLoad(), p.kernelEnd(), p.initrdAddress(),
                    p.initrdSize(), p.dtbAddress());
        } catch (BootPlacement.PlacementException e) {
            return e.getMessage();
        }
    }
}
