package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.gson.JsonElement;
import java.nio.charset.StandardCharsets;

/**
 * A QMP command's arguments: any JSON object the framer and parser let through, read by the typed accessors
 * commands use (names and accessors picked by the input); each gives a value or a {@link QmpException} with a
 * description, never another exception.
 */
class QmpArgumentsFuzzTarget {
    private static final String[] NAMES = {"id", "driver", "bus", "addr", "size", "value", "node-name", "file",
        "filename", "enable", "fds", "cpu-index", "a", ""};

    @FuzzTest(maxDuration = "5s")
    void arguments(FuzzedDataProvider data) {
        int accesses = data.consumeInt(0, 16);
        int[] kinds = new int[accesses];
        String[] names = new String[accesses];
        for (int i = 0; i < accesses; i++) {
            kinds[i] = data.consumeInt(0, 15);
            names[i] = data.consumeBoolean() ? data.pickValue(NAMES) : data.consumeString(8);
        }
        byte[] json = data.consumeRemainingAsString().getBytes(StandardCharsets.UTF_8);
        JsonElement parsed;
        try {
            parsed = QmpJson.parse(json, 32);
        } catch (QmpJson.ParseException e) {
            return;
        }
        if (!parsed.isJsonObject()) {
            return;
        }
        QmpArguments args = QmpArguments.of(parsed.getAsJsonObject());
        for (int i = 0; i < accesses; i++) {
            try {
                access(args, kinds[i], names[i]);
            } catch (QmpException e) {
                assertTrue(e.desc() != null && !e.desc().isBlank(), "an error without a description");
            }
        }
    }

    private static void access(QmpArguments a, int kind, String name) throws QmpException {
        switch (kind) {
            case 0 -> a.requiredString(name);
            case 1 -> a.optionalString(name);
            case 2 -> a.requiredLong(name);
            case 3 -> a.optionalLong(name, 7);
            case 4 -> a.requiredInt(name);
            case 5 -> a.optionalInt(name, 7);
            case 6 -> a.requiredBool(name);
            case 7 -> a.optionalBool(name, true);
            case 8 -> a.optionalFlag(name);
            case 9 -> a.optionalUnsigned(name);
            case 10 -> a.requiredNumber(name);
            case 11 -> a.optionalObject(name).ifPresent(o -> o.names());
            case 12 -> a.requiredObject(name).names();
            case 13 -> a.requiredStringList(name);
            case 14 -> a.optionalStringList(name);
            default -> a.checkUnexpected();
        }
    }
}
