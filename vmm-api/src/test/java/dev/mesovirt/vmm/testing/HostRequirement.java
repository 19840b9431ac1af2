package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * Something a test needs from the host (gcc, the uapi headers, /dev/kvm, a TAP, a file system with O_DIRECT): when it
 * is missing the test fails under CI ({@code CI=true}), where the project's scripts provide it, and is skipped, saying
 * what is missing, on a developer's machine. Never a silent skip on CI.
 */
public final class HostRequirement {
    private HostRequirement() {}

    /** Fails (CI) or skips the calling test with {@code missing} unless {@code present}. */
    public static void require(boolean present, String missing) {
        require(System.getenv(), present, missing);
    }

    /** As {@link #require(boolean, String)}, with {@code env} as the environment that says whether this is CI. */
    public static void require(Map<String, String> env, boolean present, String missing) {
        if (present) {
            return;
        }
        if ("true".equalsIgnoreCase(env.get("CI"))) {
            fail("CI=true but " + missing);
        }
        Assumptions.abort(missing);
    }
}
