package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * 10^4 hostile messages on one connection (random bytes, truncated and mutated requests, deep nesting, huge strings),
 * deterministic from a fixed seed: every reply must be a well-formed QMP message, the server must still answer on
 * that connection after a resynchronisation byte and on a new one, and none of its threads may have failed.
 */
@Timeout(60)
class QmpFuzzTest {
    private static final long SEED = 0x5eed_9e7aL;
    private static final int MESSAGES = 10_000;

    private static final List<String> VALID = List.of(
            "{\"execute\": \"qmp_capabilities\"}",
            "{\"execute\": \"query-commands\", \"id\": 1}",
            "{\"execute\": \"typed\", \"arguments\": {\"s\": \"x\", \"n\": 3}, \"id\": {\"k\": [1, \"}\"]}}",
            "{\"execute\": \"echo\", \"arguments\": {\"a\": [1, 2.5, true, null, \"\\u00e9\\\"\"]}}",
            "{\"execute\": \"boom\", \"id\": \"b\"}",
            "{\"execute\": \"nothing\", \"arguments\": {\"x\": {}}}");

    @TempDir
    Path dir;

    /** What the replies were, by kind ("return", or the error desc up to its first comma/quote). */
    private final Map<String, Integer> seen = new TreeMap<>();

    @Test
    void survivesGarbage() throws Exception {
        Path socket = dir.resolve("fuzz.sock");
        QmpServer server = new QmpServer(socket, new QmpVersion(9, 0, 0, ""), QmpServerTest.testCommands());
        server.start();
        try {
            try (QmpTestClient c = QmpTestClient.connect(socket)) {
                assertTrue(c.nextLine().startsWith("{\"QMP\": "));
                Random random = new Random(SEED);
                ByteArrayOutputStream batch = new ByteArrayOutputStream();
                for (int i = 0; i < MESSAGES; i++) {
                    batch.writeBytes(message(random, i));
                    if (batch.size() > 32 * 1024 || i == MESSAGES - 1) {
                        c.send(batch.toByteArray());
                        batch.reset();
                    }
                    drain(c);
                }
                // Whatever state the garbage left the framer in, a lexical error resets it (qmp-spec's advice).
                c.send(new byte[]{(byte) 0xff});
                c.send("{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"query-commands\", \"id\": \"final\"}\n");
                JsonObject last;
                do {
                    last = checkedReply(c.nextLine());
                } while (!last.has("id") || !last.get("id").equals(JsonParser.parseString("\"final\"")));
                assertTrue(last.get("return").isJsonArray(), last.toString());
            }
            for (String kind : List.of("return", "JSON token size limit exceeded", "JSON nesting depth limit exceeded",
                    "JSON parse error", "QMP input must be a JSON object", "The command", "Command")) {
                assertTrue(seen.containsKey(kind), "no '" + kind + "' reply among " + seen);
            }
            assertTrue(seen.values().stream().mapToInt(Integer::intValue).sum() > MESSAGES / 2, seen.toString());
            try (QmpTestClient fresh = QmpTestClient.negotiated(socket)) {
                assertTrue(fresh.request("{\"execute\": \"query-commands\"}").startsWith("{\"return\": [{\"name\": "));
            }
        } finally {
            server.close();
        }
        assertEquals(0, server.unexpectedErrors(), "no exception escaped the server's threads");
    }

    /** Consumes whatever replies have arrived, checking each, so the server's output queue never fills. */
    private void drain(QmpTestClient c) throws InterruptedException {
        for (String line; (line = c.pollLine(0)) != null; ) {
            checkedReply(line);
        }
    }

    private JsonObject checkedReply(String line) {
        JsonElement e = JsonParser.parseString(line);
        assertTrue(e.isJsonObject(), line);
        JsonObject o = e.getAsJsonObject();
        if (o.has("error")) {
            JsonObject error = o.getAsJsonObject("error");
            assertTrue(error.get("class").isJsonPrimitive() && error.get("desc").isJsonPrimitive(), line);
            String desc = error.get("desc").getAsString();
            String kind = desc.startsWith("Expecting") || desc.startsWith("The command") ? desc.substring(0, 11)
                    : desc.split("[,']")[0].trim();
            seen.merge(kind, 1, Integer::sum);
        } else {
            assertTrue(o.has("return"), line);
            seen.merge("return", 1, Integer::sum);
        }
        return o;
    }

    private static byte[] message(Random random, int i) {
        String valid = VALID.get(random.nextInt(VALID.size()));
        byte[] bytes = switch (random.nextInt(8)) {
            case 0 -> randomBytes(random, random.nextInt(200));
            case 1 -> truncate(random, valid.getBytes(StandardCharsets.UTF_8));
            case 2 -> mutate(random, valid.getBytes(StandardCharsets.UTF_8));
            case 3 -> nesting(random);
            case 4 -> i % 400 == 0 ? hugeString(random) : valid.getBytes(StandardCharsets.UTF_8);
            case 5 -> randomJsonish(random);
            default -> valid.getBytes(StandardCharsets.UTF_8);
        };
        // usually a newline, sometimes nothing (the next message glues on), sometimes a resync byte
        int separator = random.nextInt(10);
        byte[] tail = separator < 6 ? new byte[]{'\n'} : separator < 9 ? new byte[0] : new byte[]{(byte) 0xff};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes);
        out.writeBytes(tail);
        return out.toByteArray();
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static byte[] truncate(Random random, byte[] valid) {
        return java.util.Arrays.copyOf(valid, random.nextInt(valid.length));
    }

    private static byte[] mutate(Random random, byte[] valid) {
        byte[] b = valid.clone();
        for (int k = random.nextInt(4); k >= 0; k--) {
            b[random.nextInt(b.length)] = (byte) "{}[]\",:\\'x0 \u0000".charAt(random.nextInt(13));
        }
        return b;
    }

    private static byte[] nesting(Random random) {
        int depth = random.nextInt(3000);
        StringBuilder s = new StringBuilder();
        for (int k = 0; k < depth; k++) {
            s.append(random.nextBoolean() ? "[" : "{\"k\":");
        }
        if (random.nextBoolean()) {
            for (int k = 0; k < depth; k++) {
                s.append(random.nextBoolean() ? "]" : "}");
            }
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] hugeString(Random random) {
        int n = (1 << 20) + random.nextInt(1 << 19);
        return ("{\"execute\": \"echo\", \"arguments\": {\"s\": \"" + "h".repeat(n) + "\"}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] randomJsonish(Random random) {
        String alphabet = "{}[]\",:\\'0123456789.eE+-truefalsnl \t\r\nexecutearguments\u00e9";
        StringBuilder s = new StringBuilder();
        for (int k = random.nextInt(120); k > 0; k--) {
            s.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }
}
