package dev.mesovirt.cli;

/**
 * A QEMU-style property list, "value,key=value,...", where the first item may omit its key (the implicit key, e.g.
 * "type" for -machine). Small and allocation-light: the keys are known up front, so values live in an array indexed
 * like {@code keys}. QEMU's ",," escape is not supported: no value we parse this way can contain a comma.
 */
final class KeyValues {
    private final String[] keys;
    private final String[] values;

    private KeyValues(String[] keys) {
        this.keys = keys;
        this.values = new String[keys.length];
    }

    /**
     * @param what the option and its value as the user wrote them, e.g. "-smp 2,foo=1", prefixed to every message
     * @param text the option's argument
     * @param keys the allowed keys; {@code keys[0]} is the implicit key of the first item
     */
    static KeyValues parse(String what, String text, String... keys) throws UsageException {
        KeyValues kv = new KeyValues(keys);
        int start = 0;
        int length = text.length();
        boolean first = true;
        while (true) {
            int comma = text.indexOf(',', start);
            int end = comma < 0 ? length : comma;
            if (end == start) {
                throw new UsageException(what + ": empty item" + (length == 0 ? "" : " (stray comma?)"));
            }
            int eq = text.indexOf('=', start);
            String key;
            String value;
            if (eq < 0 || eq > end) {
                if (!first) {
                    throw new UsageException(what + ": '" + text.substring(start, end) + "' is not of the form key=value");
                }
                key = keys[0];
                value = text.substring(start, end);
            } else {
                key = text.substring(start, eq);
                value = text.substring(eq + 1, end);
            }
            int index = kv.indexOf(key);
            if (index < 0) {
                throw new UsageException(what + ": unknown property '" + key + "' (expected " + list(keys) + ")");
            }
            if (kv.values[index] != null) {
                throw new UsageException(what + ": '" + key + "' given twice");
            }
            if (value.isEmpty()) {
                throw new UsageException(what + ": empty value for '" + key + "'");
            }
            kv.values[index] = value;
            if (comma < 0) {
                return kv;
            }
            start = comma + 1;
            first = false;
        }
    }

    /** The value of {@code key}, or null when absent. */
    String get(String key) {
        int index = indexOf(key);
        if (index < 0) {
            throw new IllegalArgumentException("not a declared key: " + key);
        }
        return values[index];
    }

    private int indexOf(String key) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i].equals(key)) {
                return i;
            }
        }
        return -1;
    }

    /** "a, b or c". */
    static String list(String... items) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < items.length; i++) {
            if (i > 0) {
                sb.append(i == items.length - 1 ? " or " : ", ");
            }
            sb.append(items[i]);
        }
        return sb.toString();
    }
}
