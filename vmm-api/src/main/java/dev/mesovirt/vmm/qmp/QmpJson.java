package dev.mesovirt.vmm.qmp;

import com.google.gson.FormattingStyle;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.Strictness;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/** QMP's JSON on the wire: strict parsing of one framed value, and QEMU's output spelling. */
final class QmpJson {
    /** Gson's own reader and writer of JSON trees; used for single scalars and for output. */
    private static final TypeAdapter<JsonElement> ELEMENTS = new Gson().getAdapter(JsonElement.class);

    /** QEMU writes one line with a blank after ':' and ',': {"return": {}, "id": 1}. */
    private static final FormattingStyle QEMU_STYLE =
            FormattingStyle.PRETTY.withNewline("").withIndent("").withSpaceAfterSeparators(true);

    private static final int MAX_DESC = 200;

    private QmpJson() {
    }

    /** A value QEMU's parser would reject; the message is the reply's desc ("JSON parse error, ..."). */
    static final class ParseException extends Exception {
        ParseException(String desc) {
            super(desc, null, false, false);
        }
    }

    /**
     * Parses one framed value with Gson in strict mode (RFC 8259: no comments, single quotes, unquoted names,
     * NaN, raw control characters in strings or trailing commas), rejecting invalid UTF-8 and duplicate object
     * keys as QEMU does. Gson's JsonParser is not used: it forces lenient mode and keeps the last duplicate key.
     */
    static JsonElement parse(byte[] utf8, int maxDepth) throws ParseException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ParseException("JSON parse error, invalid UTF-8 sequence in string");
        }
        JsonReader in = new JsonReader(new StringReader(text));
        in.setStrictness(Strictness.STRICT);
        in.setNestingLimit(maxDepth + 1); // the framer enforces maxDepth first, with QEMU's message
        try {
            JsonElement value = readTree(in);
            if (in.peek() != JsonToken.END_DOCUMENT) {
                throw new ParseException("JSON parse error, unexpected data after the value");
            }
            return value;
        } catch (IOException | RuntimeException e) {
            throw new ParseException("JSON parse error, " + describe(e));
        }
    }

    /** Builds the tree token by token (iteratively: depth costs no stack) so that duplicate keys are seen. */
    private static JsonElement readTree(JsonReader in) throws IOException, ParseException {
        JsonElement root = openOrRead(in);
        if (!root.isJsonObject() && !root.isJsonArray()) {
            return root;
        }
        Deque<JsonElement> parents = new ArrayDeque<>();
        JsonElement current = root;
        while (true) {
            if (in.hasNext()) {
                String name = current instanceof JsonObject ? in.nextName() : null;
                JsonElement value = openOrRead(in);
                if (current instanceof JsonObject object) {
                    if (object.has(name)) {
                        throw new ParseException("JSON parse error, duplicate key");
                    }
                    object.add(name, value);
                } else {
                    ((JsonArray) current).add(value);
                }
                if (value.isJsonObject() || value.isJsonArray()) {
                    parents.push(current);
                    current = value;
                }
            } else {
                if (current instanceof JsonObject) {
                    in.endObject();
                } else {
                    in.endArray();
                }
                if (parents.isEmpty()) {
                    return current;
                }
                current = parents.pop();
            }
        }
    }

    /** An opened (still empty) object or array, or a whole scalar read by Gson (numbers keep their text). */
    private static JsonElement openOrRead(JsonReader in) throws IOException {
        switch (in.peek()) {
            case BEGIN_OBJECT -> {
                in.beginObject();
                return new JsonObject();
            }
            case BEGIN_ARRAY -> {
                in.beginArray();
                return new JsonArray();
            }
            default -> {
                return ELEMENTS.read(in);
            }
        }
    }

    /** Gson's message, short and without its advice to go lenient or its (possibly huge) JSON path. */
    private static String describe(Exception e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int eol = m.indexOf('\n');
        if (eol >= 0) {
            m = m.substring(0, eol);
        }
        int path = m.indexOf(" path $");
        if (path >= 0) {
            m = m.substring(0, path);
        }
        m = m.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", "malformed JSON");
        if (m.length() > 1 && Character.isUpperCase(m.charAt(0)) && Character.isLowerCase(m.charAt(1))) {
            m = Character.toLowerCase(m.charAt(0)) + m.substring(1);
        }
        return m.length() > MAX_DESC ? m.substring(0, MAX_DESC) + "..." : m;
    }

    /** One output line in QEMU's spelling, CR LF terminated as QEMU's monitor writes it. */
    static byte[] line(JsonObject message) {
        StringWriter text = new StringWriter();
        JsonWriter out = new JsonWriter(text);
        out.setFormattingStyle(QEMU_STYLE);
        out.setStrictness(Strictness.STRICT); // NaN and Infinity are not JSON: fail here, not in the client
        out.setHtmlSafe(false);
        out.setSerializeNulls(true);
        try {
            ELEMENTS.write(out, message);
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e); // a StringWriter does not fail
        }
        text.append("\r\n");
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {"return": value, "id": id} (QEMU puts the id last in a return, first in an error). */
    static JsonObject returnReply(JsonElement value, JsonElement id) {
        JsonObject reply = new JsonObject();
        reply.add("return", value);
        if (id != null) {
            reply.add("id", id);
        }
        return reply;
    }

    /** {"id": id, "error": {"class": C, "desc": D}}. */
    static JsonObject errorReply(QmpException error, JsonElement id) {
        JsonObject reply = new JsonObject();
        if (id != null) {
            reply.add("id", id);
        }
        reply.add("error", error.toJson());
        return reply;
    }

    /** {"timestamp": {"seconds": S, "microseconds": U}, "event": NAME, "data": {...}}, QEMU's order. */
    static JsonObject event(String name, JsonObject data, Instant when) {
        JsonObject timestamp = new JsonObject();
        timestamp.addProperty("seconds", when.getEpochSecond());
        timestamp.addProperty("microseconds", when.getNano() / 1000);
        JsonObject event = new JsonObject();
        event.add("timestamp", timestamp);
        event.addProperty("event", name);
        if (data != null) {
            event.add("data", data);
        }
        return event;
    }
}
