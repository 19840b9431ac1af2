package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;

/**
 * The command line (options, -machine/-smp/-m values, -drive/-device/-netdev/-object/-chardev key=value lists):
 * an argument vector gives a result or a {@link UsageException} with a message, nothing else. Option names come
 * from {@link Opt} so that the fuzzer reaches the value parsers, not only "unknown option".
 */
class CommandLineFuzzTarget {
    private static final List<String> OPTIONS = new ArrayList<>();
    private static Path kernel;

    @BeforeAll
    static void setUp() throws IOException {
        Path dir = Files.createDirectories(Path.of("target", "fuzz-cli").toAbsolutePath());
        kernel = Files.write(dir.resolve("bzImage"), new byte[] {1});
        for (Opt opt : Opt.values()) {
            OPTIONS.add("-" + opt.name);
            if (opt.alias != null) {
                OPTIONS.add("-" + opt.alias);
            }
        }
    }

    @FuzzTest(maxDuration = "5s")
    void parse(FuzzedDataProvider data) {
        List<String> args = new ArrayList<>();
        if (data.consumeBoolean()) {
            args.add("-kernel");
            args.add(kernel.toString());
        }
        int n = data.consumeInt(0, 12);
        for (int i = 0; i < n && data.remainingBytes() > 0; i++) {
            args.add(data.consumeBoolean() ? data.pickValue(OPTIONS) : data.consumeString(80));
        }
        CommandLine parser = new CommandLine(() -> 8L << 30);
        try {
            assertNotNull(parser.parse(args));
        } catch (UsageException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "empty message for " + args);
        }
    }
}
