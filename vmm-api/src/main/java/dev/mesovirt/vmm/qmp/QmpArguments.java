package dev.mesovirt.vmm.qmp;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A command's {@code arguments} object with typed accessors that fail the way QEMU's QAPI input visitor does
 * (GenericError): a missing member is "Parameter 'x' is missing", a member of the wrong JSON type is "Invalid
 * parameter type for 'x', expected: string", an integer out of a narrower range is "Parameter 'x' expects int32_t".
 * Names in messages are QEMU's full names: {@code parent.child} inside objects, {@code list[2]} for list elements.
 *
 * <p>Every accessor marks its member as read. QEMU rejects arguments a command does not declare, before the command
 * runs; a handler does the same by reading what it knows and then calling {@link #checkUnexpected()} before it
 * acts (once per nested object it reads, too). JSON {@code null} is a present member of type null, as in QEMU.
 *
 * <p>Not thread-safe: a handler uses its arguments on the thread that called it.
 */
public final class QmpArguments {
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,19}");

    private final JsonObject json;
    private final String prefix;
    private final Set<String> unread;

    private QmpArguments(JsonObject json, String prefix) {
        this.json = json;
        this.prefix = prefix;
        this.unread = new LinkedHashSet<>(json.keySet());
    }

    /** Arguments over a copy of {@code json}; null means none (a request without "arguments"). */
    public static QmpArguments of(JsonObject json) {
        return new QmpArguments(json == null ? new JsonObject() : json.deepCopy(), "");
    }

    /** Whether the member is present (null counts as present); does not mark it read. */
    public boolean has(String name) {
        return json.has(name);
    }

    /** The member names, in the request's order. */
    public Set<String> names() {
        return Collections.unmodifiableSet(new LinkedHashSet<>(json.keySet()));
    }

    /** Fails with "Parameter 'x' is unexpected" for the first member no accessor has read. */
    public void checkUnexpected() throws QmpException {
        if (!unread.isEmpty()) {
            throw QmpException.unexpectedParameter(fullName(unread.iterator().next()));
        }
    }

    public String requiredString(String name) throws QmpException {
        return asString(required(name), fullName(name));
    }

    public Optional<String> optionalString(String name) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? Optional.empty() : Optional.of(asString(e, fullName(name)));
    }

    /** A 64-bit signed integer (QAPI 'int'); a fraction or exponent is not an integer, as in QEMU. */
    public long requiredLong(String name) throws QmpException {
        return asLong(required(name), fullName(name));
    }

    public long optionalLong(String name, long defaultValue) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? defaultValue : asLong(e, fullName(name));
    }

    /** A 32-bit signed integer (QAPI 'int32'). */
    public int requiredInt(String name) throws QmpException {
        return asInt(required(name), name);
    }

    public int optionalInt(String name, int defaultValue) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? defaultValue : asInt(e, name);
    }

    public boolean requiredBool(String name) throws QmpException {
        return asBool(required(name), fullName(name));
    }

    public boolean optionalBool(String name, boolean defaultValue) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? defaultValue : asBool(e, fullName(name));
    }

    /**
     * A device property of type bool as device_add takes it: a JSON boolean, or one of the strings QEMU's keyval
     * parser takes ("on", "off", "yes", "no", "true", "false"), which older clients send (StratoVirt's schema has
     * these members as strings; Kata Containers sent "on" until 3.15).
     */
    public Optional<Boolean> optionalFlag(String name) throws QmpException {
        JsonElement e = optional(name);
        if (e == null) {
            return Optional.empty();
        }
        if (e instanceof JsonPrimitive p && p.isBoolean()) {
            return Optional.of(p.getAsBoolean());
        }
        if (e instanceof JsonPrimitive p && p.isString()) {
            switch (p.getAsString()) {
                case "on", "yes", "true" -> {
                    return Optional.of(true);
                }
                case "off", "no", "false" -> {
                    return Optional.of(false);
                }
                default -> { }
            }
        }
        throw QmpException.invalidParameterValue(fullName(name), "'on' or 'off'");
    }

    /**
     * A device property of an unsigned integer type as device_add takes it: a JSON integer, or the same as a decimal
     * string (older Kata Containers sent num-queues as a string; StratoVirt's schema has vectors as one).
     */
    public Optional<Long> optionalUnsigned(String name) throws QmpException {
        JsonElement e = optional(name);
        if (e == null) {
            return Optional.empty();
        }
        if (e instanceof JsonPrimitive p && (p.isNumber() || p.isString())) {
            String text = p.getAsString();
            if (INTEGER.matcher(text).matches() && text.charAt(0) != '-') {
                try {
                    return Optional.of(Long.parseLong(text));
                } catch (NumberFormatException outOfRange) {
                    // falls through
                }
            }
        }
        throw QmpException.invalidParameterValue(fullName(name), "a non-negative integer");
    }

    /** Any JSON number (QAPI 'number'). */
    public double requiredNumber(String name) throws QmpException {
        return asNumber(required(name), fullName(name));
    }

    public double optionalNumber(String name, double defaultValue) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? defaultValue : asNumber(e, fullName(name));
    }

    /** A nested object, with its own read tracking and {@link #checkUnexpected()}. */
    public QmpArguments requiredObject(String name) throws QmpException {
        return asObject(required(name), name);
    }

    public Optional<QmpArguments> optionalObject(String name) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? Optional.empty() : Optional.of(asObject(e, name));
    }

    public List<String> requiredStringList(String name) throws QmpException {
        return asStringList(required(name), fullName(name));
    }

    public Optional<List<String>> optionalStringList(String name) throws QmpException {
        JsonElement e = optional(name);
        return e == null ? Optional.empty() : Optional.of(asStringList(e, fullName(name)));
    }

    /** The member as raw JSON (a copy), for values of any type such as device_add's properties. */
    public JsonElement requiredValue(String name) throws QmpException {
        return required(name).deepCopy();
    }

    public Optional<JsonElement> optionalValue(String name) {
        JsonElement e = optional(name);
        return e == null ? Optional.empty() : Optional.of(e.deepCopy());
    }

    /** A copy of the whole object; marks nothing read. */
    public JsonObject toJson() {
        return json.deepCopy();
    }

    @Override
    public String toString() {
        return json.toString();
    }

    private JsonElement required(String name) throws QmpException {
        JsonElement e = optional(name);
        if (e == null) {
            throw QmpException.missingParameter(fullName(name));
        }
        return e;
    }

    private JsonElement optional(String name) {
        unread.remove(name);
        return json.get(name);
    }

    private String fullName(String name) {
        return prefix + name;
    }

    private static String asString(JsonElement e, String fullName) throws QmpException {
        if (e instanceof JsonPrimitive p && p.isString()) {
            return p.getAsString();
        }
        throw QmpException.invalidParameterType(fullName, "string");
    }

    private static long asLong(JsonElement e, String fullName) throws QmpException {
        if (e instanceof JsonPrimitive p && p.isNumber()) {
            // The number's own text (Gson keeps it): QEMU's integers are JSON numbers without fraction or exponent
            // that fit int64; anything else is a double and not an integer.
            String text = p.getAsString();
            if (INTEGER.matcher(text).matches()) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException outOfRange) {
                    // falls through to the type error, as qnum_get_try_int() fails in QEMU
                }
            }
        }
        throw QmpException.invalidParameterType(fullName, "integer");
    }

    private int asInt(JsonElement e, String name) throws QmpException {
        long v = asLong(e, fullName(name));
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            // QEMU's visit_type_intN() names the member without its path here.
            throw QmpException.invalidParameterValue(name, "int32_t");
        }
        return (int) v;
    }

    private static boolean asBool(JsonElement e, String fullName) throws QmpException {
        if (e instanceof JsonPrimitive p && p.isBoolean()) {
            return p.getAsBoolean();
        }
        throw QmpException.invalidParameterType(fullName, "boolean");
    }

    private static double asNumber(JsonElement e, String fullName) throws QmpException {
        if (e instanceof JsonPrimitive p && p.isNumber()) {
            return p.getAsDouble();
        }
        throw QmpException.invalidParameterType(fullName, "number");
    }

    private QmpArguments asObject(JsonElement e, String name) throws QmpException {
        if (e instanceof JsonObject o) {
            return new QmpArguments(o, fullName(name) + ".");
        }
        throw QmpException.invalidParameterType(fullName(name), "object");
    }

    private static List<String> asStringList(JsonElement e, String fullName) throws QmpException {
        if (!(e instanceof JsonArray array)) {
            throw QmpException.invalidParameterType(fullName, "array");
        }
        List<String> list = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            list.add(asString(array.get(i), fullName + "[" + i + "]"));
        }
        return List.copyOf(list);
    }
}
