package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Framing of the input stream into top-level values, QEMU's json-streamer rules. */
class JsonFramerTest {
    private final JsonFramer framer = new JsonFramer(64, 4);

    /** Values as text, errors as "!desc". */
    private List<String> feed(String input) {
        return feed(input.getBytes(StandardCharsets.UTF_8));
    }

    private List<String> feed(byte[] input) {
        List<String> out = new ArrayList<>();
        framer.feed(input, 0, input.length, f -> out.add(switch (f) {
            case JsonFramer.Frame.Value v -> new String(v.json(), StandardCharsets.UTF_8);
            case JsonFramer.Frame.Error e -> "!" + e.desc();
        }));
        return out;
    }

    @Test
    void objectsArraysAndScalarsAtTheTopLevel() {
        assertEquals(List.of("{\"a\": [1, {}]}", "[2]", "3", "true", "\"s\"", "-4.5e1", "}", ","),
                feed(" {\"a\": [1, {}]}\r\n[2] 3\ttrue\"s\"-4.5e1 } ,"));
    }

    @Test
    void bracesInsideStringsAndEscapesDoNotCount() {
        assertEquals(List.of("{\"a\": \"}]\\\"{\"}", "['x}\\'{']", "\"\\\\\""),
                feed("{\"a\": \"}]\\\"{\"}['x}\\'{']\"\\\\\""));
    }

    @Test
    void aValueMaySpanManyFeeds() {
        String text = "{\"execute\": \"query-status\", \"id\": \"}\"}";
        List<String> out = new ArrayList<>();
        for (char ch : text.toCharArray()) {
            out.addAll(feed(String.valueOf(ch)));
        }
        assertEquals(List.of(text), out);
    }

    @Test
    void sizeLimitSkipsTheRestOfTheValue() {
        String big = "{\"s\": \"" + "x".repeat(100) + "{[\", \"t\": {}}";
        assertEquals(List.of("!JSON token size limit exceeded", "{}"), feed(big + "{}"));
        assertEquals(List.of("!JSON token size limit exceeded", "1"), feed("\"" + "y".repeat(100) + "\" 1 "));
        assertEquals(List.of("!JSON token size limit exceeded", "[]"), feed("z".repeat(100) + "[]"));
    }

    @Test
    void depthLimit() {
        assertEquals(List.of("[[[[]]]]"), feed("[[[[]]]]"));
        assertEquals(List.of("!JSON nesting depth limit exceeded", "{}"), feed("[{[{[{}]}]}]{}"));
    }

    @Test
    void lexicalErrorsResetTheFramer() {
        assertEquals(List.of("!JSON parse error, stray '\\xff'", "{}"),
                feed(new byte[]{'{', '"', 'a', '"', ':', '[', (byte) 0xff, '{', '}'}));
        assertEquals(List.of("!JSON parse error, stray '\\x0a'", "1"), feed("[\"abc\n1 "));
        assertEquals(List.of("!JSON parse error, stray '\\x1b'", "[]"), feed("{\u001b[]"));
        // after the limit error, a lexical error also ends the skipping
        assertEquals(List.of("!JSON nesting depth limit exceeded", "!JSON parse error, stray '\\x00'", "2"),
                feed("[[[[[[[[\u00002 "));
    }

    @Test
    void aTopLevelScalarWaitsForItsEnd() {
        assertEquals(List.of(), feed("12"));
        assertEquals(List.of("123"), feed("3\n"));
    }

    @Test
    void unbalancedClosersAreLeftToTheParser() {
        assertEquals(List.of("{]}", "]"), feed("{]}]"));
    }

    /** The reader's bound on parsed-ahead requests: feeding stops right after the frame that reaches it. */
    @Test
    void feedStopsAfterMaxFrames() {
        JsonFramer f = new JsonFramer(1024, 8);
        byte[] in = "{\"a\":1} [2]  \"x\"{}".getBytes(StandardCharsets.UTF_8);
        List<JsonFramer.Frame> out = new ArrayList<>();
        int used = f.feed(in, 0, in.length, out::add, 2);
        assertEquals(11, used, "stops right after ']'");
        assertEquals(2, out.size());
        used += f.feed(in, used, in.length - used, out::add, 2);
        assertEquals(in.length, used);
        assertEquals(4, out.size());
        assertEquals("{}", new String(((JsonFramer.Frame.Value) out.get(3)).json(), StandardCharsets.UTF_8));
        // errors count as frames too: a flood of garbage is parsed no further ahead than requests are
        byte[] junk = "}}}}}".getBytes(StandardCharsets.UTF_8);
        out.clear();
        assertEquals(3, f.feed(junk, 0, junk.length, out::add, 3));
        assertEquals(3, out.size());
    }
}
