package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Asks the system C compiler what the kernel's uapi headers say: compiles a program that prints
 * {@code name value} lines for the given C expressions (sizeof, offsetof, ioctl macros) and returns them. Without
 * gcc or the headers the calling test is skipped, except under CI (CI=true), where it fails.
 */
public final class CProbe {
    private CProbe() {}

    /** @param expressions name → C expression of an integer type */
    public static Map<String, Long> evaluate(List<String> includes, Map<String, String> expressions) throws Exception {
        boolean haveTools = Files.isExecutable(Path.of("/usr/bin/gcc")) && Files.exists(Path.of("/usr/include/linux/kvm.h"));
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(haveTools, "CI=true but gcc or linux-libc-dev's linux/kvm.h is missing");
        } else {
            assumeTrue(haveTools, "gcc or /usr/include/linux/kvm.h missing");
        }
        Path dir = Files.createTempDirectory("cprobe");
        StringBuilder src = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n");
        for (String inc : includes) {
            src.append("#include <").append(inc).append(">\n");
        }
        src.append("int main(void) {\n");
        for (Map.Entry<String, String> e : expressions.entrySet()) {
            src.append("  printf(\"%s %llu\\n\", \"").append(e.getKey()).append("\", (unsigned long long)(")
                    .append(e.getValue()).append("));\n");
        }
        src.append("  return 0;\n}\n");
        Path c = dir.resolve("probe.c");
        Path exe = dir.resolve("probe");
        Files.writeString(c, src);
        run(List.of("gcc", "-o", exe.toString(), c.toString()));
        String out = run(List.of(exe.toString()));
        Map<String, Long> values = new HashMap<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                String[] kv = line.trim().split(" ");
                values.put(kv[0], Long.parseUnsignedLong(kv[1]));
            }
        }
        return values;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), command + " failed:\n" + out);
        return out;
    }
}
