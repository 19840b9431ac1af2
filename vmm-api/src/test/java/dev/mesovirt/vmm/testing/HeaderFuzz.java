package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mesovirt.vmm.boot.ImageHeader;
import dev.mesovirt.vmm.boot.InvalidImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A fuzz test of an architecture's Image header parser against the architecture's rules, stated by the test on its
 * own: a valid Image with 1 to 6 random bytes of its header changed must be accepted, with exactly the fields its
 * bytes hold, when it breaks no rule, and otherwise rejected by the first rule it breaks, with that rule's message.
 * The outcome counts show which paths the inputs took.
 */
public final class HeaderFuzz {
    private HeaderFuzz() {}

    /** The parser under test. */
    @FunctionalInterface
    public interface Parser {
        ImageHeader parse(byte[] head, long fileSize) throws InvalidImageException;
    }

    /**
     * An architecture's header rules, in the words of its boot documentation.
     *
     * @param magic the u32 at offset 56
     * @param textOffsetAlignment text_offset must be a multiple of this
     * @param maxTextOffset and at most this
     * @param imageSizeZeroFirst whether image_size 0 is reported before a bad text_offset
     */
    public record Rules(int magic, long textOffsetAlignment, long maxTextOffset, boolean imageSizeZeroFirst) {}

    /**
     * What the fuzzing found.
     *
     * @param counts how many inputs each rule rejected, by the fragment its message must contain ("accepted" for the
     *     inputs that broke none)
     * @param accepted the headers of the accepted inputs
     */
    public record Result(Map<String, Integer> counts, List<ImageHeader> accepted) {
        /** How many inputs ended as {@code outcome}. */
        public int count(String outcome) {
            return counts.getOrDefault(outcome, 0);
        }
    }

    public static final String ACCEPTED = "accepted";

    /** Fuzzes {@code inputs} copies of {@code valid} (whole file in the array) with {@code seed}. */
    public static Result run(Rules rules, Parser parser, byte[] valid, long seed, int inputs) {
        Random r = new Random(seed);
        Map<String, Integer> counts = new TreeMap<>();
        List<ImageHeader> accepted = new ArrayList<>();
        for (int i = 0; i < inputs; i++) {
            byte[] b = valid.clone();
            for (int k = 0; k < 1 + r.nextInt(6); k++) {
                b[r.nextInt(ImageHeader.SIZE)] = (byte) r.nextInt(256);
            }
            String expected = expectedRejection(rules, b);
            String input = HexFormat.of().formatHex(b, 0, ImageHeader.SIZE);
            try {
                ImageHeader h = parser.parse(b, b.length);
                if (expected != null) {
                    fail("accepted a header that breaks \"" + expected + "\": " + input);
                }
                ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(new ImageHeader(le.getLong(8), le.getLong(16), le.getLong(24)), h, input);
                accepted.add(h);
                expected = ACCEPTED;
            } catch (InvalidImageException e) {
                if (expected == null) {
                    fail("rejected a valid header (" + e.getMessage() + "): " + input);
                }
                assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" for " + input + ", got: "
                        + e.getMessage());
            }
            counts.merge(expected, 1, Integer::sum);
        }
        return new Result(counts, accepted);
    }

    /** The message fragment of the first rule {@code b} breaks, or null. */
    private static String expectedRejection(Rules rules, byte[] b) {
        int b0 = b[0] & 0xff;
        int b1 = b[1] & 0xff;
        if (b0 == 0x1f && b1 == 0x8b) {
            return "gzip-compressed";
        }
        if (b0 == 0x7f && b1 == 'E' && b[2] == 'L' && b[3] == 'F') {
            return "ELF";
        }
        if (b0 == 'M' && b1 == 'Z' && b[4] == 'z' && b[5] == 'i' && b[6] == 'm' && b[7] == 'g') {
            return "zboot";
        }
        if (b0 == 0x28 && b1 == 0xb5 && (b[2] & 0xff) == 0x2f && (b[3] & 0xff) == 0xfd) {
            return "zstd";
        }
        if (b0 == 0xfd && b1 == '7' && b[2] == 'z' && b[3] == 'X' && b[4] == 'Z' && b[5] == 0) {
            return "xz";
        }
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (le.getInt(56) != rules.magic()) {
            return "magic at offset 56";
        }
        if ((le.getLong(24) & 1) != 0) {
            return "big-endian";
        }
        long textOffset = le.getLong(8);
        long imageSize = le.getLong(16);
        boolean badOffset = textOffset < 0 || textOffset % rules.textOffsetAlignment() != 0
                || textOffset > rules.maxTextOffset();
        if (imageSize == 0 && (rules.imageSizeZeroFirst() || !badOffset)) {
            return "has image_size 0";
        }
        if (badOffset) {
            return "implausible text_offset";
        }
        if (imageSize < 0 || imageSize > 1L << 34) {
            return "implausible image_size";
        }
        return null;
    }
}
