package dev.mesovirt.acpi.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.mesovirt.vmm.testing.HostRequirement;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * ACPICA's command-line tools (Debian package acpica-tools) for the tests: iasl compiles and disassembles, acpiexec
 * runs AML in the interpreter Linux uses. A test that needs a missing tool is skipped, except on CI (CI=true) where
 * that is a failure.
 */
public final class AcpicaTools {

    private AcpicaTools() {
    }

    /** What a tool printed (stdout and stderr together) and its exit status. */
    public record Run(int exit, String output) {
    }

    public static Path tool(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        HostRequirement.require(false, name + " not found on PATH (apt-get install acpica-tools)");
        throw new AssertionError("unreachable");
    }

    public static Run run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " timed out");
        }
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /**
     * Compiles {@code asl}, the terms of a definition block, with iasl and returns the AML after the 36-byte table
     * header. iasl must report neither errors nor warnings, so the ASL given is what a careful author would write.
     */
    public static byte[] compileTerms(Path dir, String asl) throws IOException, InterruptedException {
        Path iasl = tool("iasl");
        Files.writeString(dir.resolve("terms.asl"),
                "DefinitionBlock (\"\", \"SSDT\", 2, \"MESOVT\", \"MESOVIRT\", 1)\n{\n" + asl + "\n}\n");
        Run r = run(dir, iasl.toString(), "-p", "terms", "terms.asl");
        assertEquals(0, r.exit(), "iasl failed on\n" + asl + "\n" + r.output());
        assertTrue(r.output().contains(" 0 Errors, 0 Warnings"), "iasl complained about\n" + asl + "\n" + r.output());
        byte[] aml = Files.readAllBytes(dir.resolve("terms.aml"));
        return Arrays.copyOfRange(aml, dev.mesovirt.acpi.Sdt.HEADER_LENGTH, aml.length);
    }
}
