package dev.mesovirt.cli;

/** Number parsing for the command line: hand-written (no regex, no exceptions for control flow) to keep start-up cheap. */
final class Sizes {
    private Sizes() {}

    /** The result of {@link #parseSize} for text that is not a size. */
    static final long INVALID = -1;
    /** The result of {@link #parseSize} for a size that does not fit in a long. */
    static final long TOO_LARGE = -2;

    /**
     * Parses a QEMU memory size: decimal digits, then an optional unit B, K, M, G or T (either case; powers of 1024).
     * Without a unit the number is in MiB, as for QEMU's -m.
     *
     * @return the size in bytes, {@link #INVALID} or {@link #TOO_LARGE}
     */
    static long parseSize(String text) {
        int length = text.length();
        int i = 0;
        long value = 0;
        while (i < length) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                break;
            }
            int digit = c - '0';
            if (value > (Long.MAX_VALUE - digit) / 10) {
                return TOO_LARGE;
            }
            value = value * 10 + digit;
            i++;
        }
        if (i == 0) {
            return INVALID;
        }
        int shift;
        if (i == length) {
            shift = 20;
        } else if (i == length - 1) {
            switch (text.charAt(i)) {
                case 'B', 'b' -> shift = 0;
                case 'K', 'k' -> shift = 10;
                case 'M', 'm' -> shift = 20;
                case 'G', 'g' -> shift = 30;
                case 'T', 't' -> shift = 40;
                default -> {
                    return INVALID;
                }
            }
        } else {
            return INVALID;
        }
        if (value > (Long.MAX_VALUE >> shift)) {
            return TOO_LARGE;
        }
        return value << shift;
    }

    /** Parses a non-negative decimal int (digits only, no sign); -1 if the text is not one or is too large. */
    static int parseCount(String text) {
        int length = text.length();
        if (length == 0 || length > 9) {
            return -1;
        }
        int value = 0;
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    /** "1536 MiB", or "3 GiB" when whole. */
    static String describe(long bytes) {
        if (bytes >= 1L << 30 && (bytes & ((1L << 30) - 1)) == 0) {
            return (bytes >> 30) + " GiB";
        }
        return (bytes >> 20) + " MiB";
    }
}
