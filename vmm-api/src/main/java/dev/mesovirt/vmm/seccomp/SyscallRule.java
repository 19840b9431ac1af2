package dev.mesovirt.vmm.seccomp;

import java.util.List;

/**
 * What the filter does with one system call (by its number on the filtered architecture). Every rule but
 * {@link Fail} allows the call, some only for certain argument values.
 */
public sealed interface SyscallRule {
    String name();

    int number();

    /** Allowed with any arguments. */
    record Allow(String name, int number) implements SyscallRule {}

    /**
     * Allowed only if the low 32 bits of argument {@code arg}, masked with {@code mask}, equal one of {@code values};
     * otherwise {@code otherwise} (a {@link Verdict}).
     */
    record AllowIfMasked(String name, int number, int arg, int mask, List<Integer> values, Verdict otherwise)
            implements SyscallRule {
        public AllowIfMasked {
            values = List.copyOf(values);
            checkArg(arg);
            if (values.isEmpty() || values.size() > 200) {
                throw new IllegalArgumentException(name + ": 1 to 200 allowed values, not " + values.size());
            }
        }
    }

    /** Allowed only if argument {@code arg} has all of {@code bits} set (low 32 bits); otherwise {@code otherwise}. */
    record AllowIfBits(String name, int number, int arg, int bits, Verdict otherwise) implements SyscallRule {
        public AllowIfBits {
            checkArg(arg);
            if (Integer.bitCount(bits) != 1) {
                throw new IllegalArgumentException(name + ": one bit to test, not " + Integer.toHexString(bits));
            }
        }
    }

    /** Never runs: fails with {@code errno} (e.g. clone3 with ENOSYS, so that glibc falls back to clone). */
    record Fail(String name, int number, int errno) implements SyscallRule {}

    /** The answer to a call a rule refuses: the filter's violation action, or a failure with an errno. */
    sealed interface Verdict {
        record Violation() implements Verdict {}

        record Errno(int errno) implements Verdict {}
    }

    private static void checkArg(int arg) {
        if (arg < 0 || arg > 5) {
            throw new IllegalArgumentException("syscall argument index " + arg + " (0 to 5)");
        }
    }
}
