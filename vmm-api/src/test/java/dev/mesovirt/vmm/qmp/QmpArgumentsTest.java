package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** QmpArguments' accessors and QEMU's input-visitor messages. */
class QmpArgumentsTest {
    private static QmpArguments args(String json) {
        return QmpArguments.of(JsonParser.parseString(json).getAsJsonObject());
    }

    private static void fails(String desc, Executable e) {
        QmpException ex = assertThrows(QmpException.class, e);
        assertEquals(QmpException.GENERIC_ERROR, ex.errorClass());
        assertEquals(desc, ex.desc());
    }

    @Test
    void typedValues() throws QmpException {
        QmpArguments a = args("{\"s\": \"x\", \"l\": -9007199254740993, \"i\": -5, \"b\": true, \"d\": 1.5e2,"
                + " \"o\": {\"k\": \"v\"}, \"list\": [\"a\", \"b\"], \"raw\": [1, {\"x\": null}], \"z\": null}");
        assertEquals("x", a.requiredString("s"));
        assertEquals(-9007199254740993L, a.requiredLong("l"));
        assertEquals(-5, a.requiredInt("i"));
        assertTrue(a.requiredBool("b"));
        assertEquals(150.0, a.requiredNumber("d"));
        assertEquals("v", a.requiredObject("o").requiredString("k"));
        assertEquals(List.of("a", "b"), a.requiredStringList("list"));
        assertEquals(JsonParser.parseString("[1, {\"x\": null}]"), a.requiredValue("raw"));
        assertTrue(a.has("z"));
        assertEquals(Optional.of(JsonParser.parseString("null")), a.optionalValue("z"));
        a.checkUnexpected();
    }

    @Test
    void optionalValuesAndDefaults() throws QmpException {
        QmpArguments a = args("{}");
        assertEquals(Optional.empty(), a.optionalString("s"));
        assertEquals(3, a.optionalInt("i", 3));
        assertEquals(4L, a.optionalLong("l", 4));
        assertFalse(a.optionalBool("b", false));
        assertEquals(0.5, a.optionalNumber("d", 0.5));
        assertEquals(Optional.empty(), a.optionalObject("o"));
        assertEquals(Optional.empty(), a.optionalStringList("list"));
        assertEquals(Optional.empty(), a.optionalValue("v"));
        QmpArguments.of(null).checkUnexpected();
    }

    @Test
    void qemuMessages() {
        QmpArguments a = args("{\"n\": 1, \"s\": \"x\", \"f\": 1.0, \"big\": 9223372036854775808, \"w\": 2147483648,"
                + " \"o\": {\"inner\": 1}, \"list\": [\"a\", 1], \"nul\": null}");
        fails("Parameter 'missing' is missing", () -> a.requiredString("missing"));
        fails("Invalid parameter type for 'n', expected: string", () -> a.requiredString("n"));
        fails("Invalid parameter type for 'nul', expected: string", () -> a.optionalString("nul"));
        fails("Invalid parameter type for 's', expected: integer", () -> a.requiredLong("s"));
        fails("Invalid parameter type for 'f', expected: integer", () -> a.requiredLong("f"));
        fails("Invalid parameter type for 'big', expected: integer", () -> a.requiredLong("big"));
        fails("Parameter 'w' expects int32_t", () -> a.requiredInt("w"));
        fails("Invalid parameter type for 's', expected: boolean", () -> a.requiredBool("s"));
        fails("Invalid parameter type for 's', expected: number", () -> a.requiredNumber("s"));
        fails("Invalid parameter type for 's', expected: object", () -> a.requiredObject("s"));
        fails("Invalid parameter type for 's', expected: array", () -> a.requiredStringList("s"));
        fails("Invalid parameter type for 'list[1]', expected: string", () -> a.requiredStringList("list"));
        fails("Invalid parameter type for 'o.inner', expected: string",
                () -> a.requiredObject("o").requiredString("inner"));
        fails("Parameter 'o.gone' is missing", () -> a.requiredObject("o").requiredString("gone"));
    }

    @Test
    void unexpectedMembersAreTheUnreadOnes() throws QmpException {
        QmpArguments a = args("{\"known\": 1, \"extra\": 2, \"o\": {\"k\": 1, \"x\": 2}}");
        assertTrue(a.has("extra")); // has() does not count as reading
        a.requiredLong("known");
        fails("Parameter 'extra' is unexpected", a::checkUnexpected);
        a.optionalLong("extra", 0);
        QmpArguments inner = a.requiredObject("o");
        a.checkUnexpected();
        inner.requiredLong("k");
        fails("Parameter 'o.x' is unexpected", inner::checkUnexpected);
    }

    @Test
    void argumentsAreACopy() throws QmpException {
        JsonObject json = JsonParser.parseString("{\"o\": {\"k\": \"v\"}}").getAsJsonObject();
        QmpArguments a = QmpArguments.of(json);
        json.getAsJsonObject("o").addProperty("k", "changed");
        a.toJson().getAsJsonObject("o").addProperty("k", "changed too");
        assertEquals("v", a.requiredObject("o").requiredString("k"));
    }
    /** device_add's bool properties: JSON booleans, and the strings older clients send (Kata before 3.15: "on"). */
    @Test
    void flagsTakeBooleansAndQemusKeyvalStrings() throws QmpException {
        QmpArguments a = args("{\"t\": true, \"f\": false, \"on\": \"on\", \"off\": \"off\", \"yes\": \"yes\","
                + " \"no\": \"no\", \"ts\": \"true\", \"fs\": \"false\", \"bad\": \"maybe\", \"n\": 1,"
                + " \"o\": {\"x\": \"On\"}}");
        assertEquals(Optional.of(true), a.optionalFlag("t"));
        assertEquals(Optional.of(false), a.optionalFlag("f"));
        assertEquals(Optional.of(true), a.optionalFlag("on"));
        assertEquals(Optional.of(false), a.optionalFlag("off"));
        assertEquals(Optional.of(true), a.optionalFlag("yes"));
        assertEquals(Optional.of(false), a.optionalFlag("no"));
        assertEquals(Optional.of(true), a.optionalFlag("ts"));
        assertEquals(Optional.of(false), a.optionalFlag("fs"));
        assertEquals(Optional.empty(), a.optionalFlag("absent"));
        fails("Parameter 'bad' expects 'on' or 'off'", () -> a.optionalFlag("bad"));
        fails("Parameter 'n' expects 'on' or 'off'", () -> a.optionalFlag("n"));
        fails("Parameter 'o.x' expects 'on' or 'off'", () -> a.requiredObject("o").optionalFlag("x"));
        a.checkUnexpected(); // every member above was read
    }

    /** device_add's unsigned properties: a JSON integer or its decimal string (Kata's num-queues before 3.25). */
    @Test
    void unsignedTakesIntegersAndDecimalStrings() throws QmpException {
        QmpArguments a = args("{\"n\": 4096, \"s\": \"6\", \"zero\": 0, \"neg\": -1, \"negs\": \"-1\","
                + " \"frac\": 1.5, \"hex\": \"0x10\", \"big\": 9223372036854775808, \"b\": true}");
        assertEquals(Optional.of(4096L), a.optionalUnsigned("n"));
        assertEquals(Optional.of(6L), a.optionalUnsigned("s"));
        assertEquals(Optional.of(0L), a.optionalUnsigned("zero"));
        assertEquals(Optional.empty(), a.optionalUnsigned("absent"));
        for (String bad : List.of("neg", "negs", "frac", "hex", "big", "b")) {
            fails("Parameter '" + bad + "' expects a non-negative integer", () -> a.optionalUnsigned(bad));
        }
    }
}
