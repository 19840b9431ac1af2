package dev.mesovirt.vmm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Asks the system C compiler what the kernel's uapi headers say: compiles a program that prints
 * {@code name value} lines for the given C expressions (sizeof, offsetof, ioctl macros) and returns them. Without
 * gcc or the headers the calling test is skipped, except under CI (CI=true), where it fails ({@link HostRequirement}).
 */
public final class CProbe {
    private CProbe() {}

    /**
     * Another architecture's uapi headers: a directory with {@code linux/kvm.h} and {@code TRIPLET/asm/kvm.h}, as
     * Debian's linux-libc-dev (trixie and later) ships every architecture's {@code asm/}.
     */
    public record ForeignHeaders(Path include, String triplet) {
        /** The first of {@code candidates} that holds both headers. */
        public static Optional<ForeignHeaders> find(String triplet, List<Path> candidates) {
            for (Path p : candidates) {
                if (Files.exists(p.resolve(triplet + "/asm/kvm.h")) && Files.exists(p.resolve("linux/kvm.h"))) {
                    return Optional.of(new ForeignHeaders(p, triplet));
                }
            }
            return Optional.empty();
        }
    }

    /** @param expressions name → C expression of an integer type, from this host's headers */
    public static Map<String, Long> evaluate(List<String> includes, Map<String, String> expressions) throws Exception {
        HostRequirement.require(Files.isExecutable(Path.of("/usr/bin/gcc")) && Files.exists(Path.of("/usr/include/linux/kvm.h")),
                "gcc or linux-libc-dev's linux/kvm.h is missing");
        return compileAndRun(List.of(), includes, expressions);
    }

    /**
     * As {@link #evaluate(List, Map)}, from another architecture's headers: its {@code asm/} comes first, so the host
     * compiler sees that architecture's definitions (right wherever they use fixed-size types, or types of the same
     * size on both, which {@code gccOptions} such as {@code -D__riscv_xlen=64} may help with).
     */
    public static Map<String, Long> evaluate(ForeignHeaders headers, List<String> gccOptions, List<String> includes,
            Map<String, String> expressions) throws Exception {
        HostRequirement.require(Files.isExecutable(Path.of("/usr/bin/gcc")), "gcc is missing");
        List<String> options = new ArrayList<>(gccOptions);
        options.addAll(List.of("-I", headers.include().resolve(headers.triplet()).toString(), "-I",
                headers.include().toString()));
        return compileAndRun(options, includes, expressions);
    }

    private static Map<String, Long> compileAndRun(List<String> gccOptions, List<String> includes,
            Map<String, String> expressions) throws IOException, InterruptedException {
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
        List<String> gcc = new ArrayList<>(List.of("gcc"));
        gcc.addAll(gccOptions);
        gcc.addAll(List.of("-o", exe.toString(), c.toString()));
        run(gcc);
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
