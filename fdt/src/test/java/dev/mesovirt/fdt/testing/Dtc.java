package dev.mesovirt.fdt.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The reference implementation, {@code dtc} (Debian package device-tree-compiler), for tests that cross-check
 * device trees against it. Without dtc on PATH such a test is skipped, except when the environment has
 * {@code CI=true}: then it fails, so CI cannot silently lose this coverage.
 */
public final class Dtc {
    private Dtc() {}

    /** What one dtc run gave: its exit status, the file it wrote ({@code -o}) and what it printed on stderr. */
    public record Result(int exitCode, byte[] output, String stderr) {
        /** The output as text (a {@code -O dts} source). */
        public String text() {
            return new String(output, StandardCharsets.UTF_8);
        }
    }

    /** {@code dtc} on the PATH of {@code env}; if there is none, fails when {@code CI=true} and skips otherwise. */
    public static Path require(Map<String, String> env) {
        for (String directory : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (directory.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(directory, "dtc");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        String message = "dtc not found on PATH; install it with: apt-get install -y device-tree-compiler";
        if ("true".equalsIgnoreCase(env.get("CI"))) {
            fail(message + " (required because CI=true)");
        }
        Assumptions.abort(message);
        throw new AssertionError("unreachable");
    }

    /** Runs {@code dtc ARGUMENTS -o OUT IN} on {@code input}, in temporary files. */
    public static Result run(byte[] input, String... arguments) throws IOException, InterruptedException {
        Path dtc = require(System.getenv());
        Path dir = Files.createTempDirectory("dtc");
        try {
            Path in = Files.write(dir.resolve("in"), input);
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            List<String> command = new ArrayList<>();
            command.add(dtc.toString());
            command.addAll(List.of(arguments));
            command.addAll(List.of("-o", out.toString(), in.toString()));
            Process process = new ProcessBuilder(command)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(err.toFile())
                    .start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail("dtc timed out: " + command);
            }
            byte[] output = Files.exists(out) ? Files.readAllBytes(out) : new byte[0];
            return new Result(process.exitValue(), output, Files.readString(err));
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
    }

    /** {@code dtc -I dtb -O dts}: the source dtc prints for a blob. */
    public static Result decompile(byte[] dtb) throws IOException, InterruptedException {
        return run(dtb, "-I", "dtb", "-O", "dts");
    }
}
