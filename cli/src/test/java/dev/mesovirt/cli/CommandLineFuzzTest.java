package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Random argument vectors: the parser returns a result or throws UsageException, nothing else, ever. */
class CommandLineFuzzTest {
    private static final long SEED = 0x6d65736f76697274L;
    private static final int VECTORS = 10_000;

    @Test
    void onlyResultsOrUsageExceptions(@TempDir Path dir) throws IOException {
        Path kernel = Files.write(dir.resolve("bzImage"), new byte[] {1});
        Path initrd = Files.write(dir.resolve("initrd"), new byte[] {2});
        List<String> options = new ArrayList<>();
        for (Opt opt : Opt.values()) {
            options.add("-" + opt.name);
            options.add("--" + opt.name);
            if (opt.alias != null) {
                options.add("-" + opt.alias);
            }
        }
        String[] values = {
            kernel.toString(), kernel.toString(), kernel.toString(), initrd.toString(), dir.toString(), "/nonexistent",
            "/dev/null", "", " ", "-", "--", "=", ",", ",,", "a\0b", "\n", "é", "٣", "x".repeat(300),
            "microvm", "type=microvm", "microvm,dump-guest-core=off", "dump-guest-core=on", "q35", "type=", "type=,",
            "256", "64", "63", "1G", "1g", "2048K", "100T", "size=1G", "size=", "1.5G", "12X", "-1", "0",
            "99999999999999999999", "9223372036854775807", "2147483648", "8388607T",
            "1", "2", "254", "255", "cpus=2", "cpus=2,maxcpus=2", "2,maxcpus=4", "sockets=2,cores=2,threads=2",
            "4,cores=3", "cores=0", "garbage", "stdio", "none", "pty", "file:", "file:" + dir.resolve("s.log"),
            "file:" + dir, "tcp:", "vm", "123e4567-e89b-12d3-a456-426614174000", "1-2-3-4-5", "console=ttyS0",
            dir.resolve("vmm.log").toString(), "-kernel", "-m", "-D", "--help", "-V", "-drive", "-daemonize",
        };
        Random random = new Random(SEED);
        CommandLine parser = new CommandLine(() -> 8L << 30);
        int runs = 0;
        int errors = 0;
        for (int n = 0; n < VECTORS; n++) {
            List<String> args = new ArrayList<>();
            // Often start with a valid kernel so that value validation is reached, not just syntax errors.
            if (random.nextInt(3) > 0) {
                args.add("-kernel");
                args.add(kernel.toString());
            }
            int length = random.nextInt(9);
            for (int i = 0; i < length; i++) {
                int kind = random.nextInt(10);
                if (kind < 5) {
                    args.add(options.get(random.nextInt(options.size())));
                } else if (kind < 9) {
                    args.add(values[random.nextInt(values.length)]);
                } else {
                    args.add(junk(random));
                }
            }
            try {
                ParseResult result = parser.parse(args);
                assertNotNull(result);
                if (result instanceof ParseResult.Run) {
                    runs++;
                }
            } catch (UsageException e) {
                String message = e.getMessage();
                assertNotNull(message);
                assertTrue(!message.isEmpty(), "empty message for " + args);
                errors++;
            } catch (RuntimeException | Error e) {
                fail("parser threw " + e + " for " + show(args), e);
            }
        }
        // The vocabulary must reach both outcomes often, or the test proves little.
        assertTrue(runs > VECTORS / 50, "too few successful parses: " + runs);
        assertTrue(errors > VECTORS / 2, "too few errors: " + errors);
    }

    private static String junk(Random random) {
        int length = random.nextInt(12);
        StringBuilder sb = new StringBuilder();
        if (random.nextBoolean()) {
            sb.append('-');
        }
        for (int i = 0; i < length; i++) {
            int kind = random.nextInt(4);
            sb.append(switch (kind) {
                case 0 -> (char) ('0' + random.nextInt(10));
                case 1 -> "=,:-/".charAt(random.nextInt(5));
                case 2 -> (char) ('a' + random.nextInt(26));
                default -> (char) random.nextInt(0x3000);
            });
        }
        return sb.toString();
    }

    private static String show(List<String> args) {
        StringBuilder sb = new StringBuilder();
        for (String a : args) {
            sb.append(" '").append(a.replace("\0", "\\0")).append('\'');
        }
        return sb.toString();
    }
}
