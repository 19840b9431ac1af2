package dev.mesovirt.vmm.qmp;

import com.google.gson.JsonObject;
import java.util.Objects;
import java.util.Set;

/**
 * A QMP error reply, {@code {"error": {"class": C, "desc": D}}}. The class is one of QEMU's QapiErrorClass names
 * (the constants below); the description is for humans, QEMU's wording where QEMU has one.
 */
public final class QmpException extends Exception {
    public static final String GENERIC_ERROR = "GenericError";
    public static final String COMMAND_NOT_FOUND = "CommandNotFound";
    public static final String DEVICE_NOT_ACTIVE = "DeviceNotActive";
    public static final String DEVICE_NOT_FOUND = "DeviceNotFound";
    public static final String KVM_MISSING_CAP = "KVMMissingCap";

    private static final Set<String> CLASSES =
            Set.of(GENERIC_ERROR, COMMAND_NOT_FOUND, DEVICE_NOT_ACTIVE, DEVICE_NOT_FOUND, KVM_MISSING_CAP);

    private final String errorClass;
    private final String desc;

    /** Throws IllegalArgumentException for a class QEMU does not define (clients switch on these names). */
    public QmpException(String errorClass, String desc) {
        // No stack trace: this is a reply to a client, not a fault of ours.
        super(errorClass + ": " + desc, null, false, false);
        if (!CLASSES.contains(Objects.requireNonNull(errorClass, "errorClass"))) {
            throw new IllegalArgumentException("not a QMP error class: " + errorClass);
        }
        this.errorClass = errorClass;
        this.desc = Objects.requireNonNull(desc, "desc");
    }

    public String errorClass() {
        return errorClass;
    }

    public String desc() {
        return desc;
    }

    public static QmpException generic(String desc) {
        return new QmpException(GENERIC_ERROR, desc);
    }

    public static QmpException commandNotFound(String desc) {
        return new QmpException(COMMAND_NOT_FOUND, desc);
    }

    public static QmpException deviceNotActive(String desc) {
        return new QmpException(DEVICE_NOT_ACTIVE, desc);
    }

    public static QmpException deviceNotFound(String desc) {
        return new QmpException(DEVICE_NOT_FOUND, desc);
    }

    public static QmpException kvmMissingCap(String desc) {
        return new QmpException(KVM_MISSING_CAP, desc);
    }

    /** QEMU's QERR_MISSING_PARAMETER: "Parameter 'x' is missing". */
    public static QmpException missingParameter(String name) {
        return generic("Parameter '" + name + "' is missing");
    }

    /** QEMU's QERR_INVALID_PARAMETER_TYPE: "Invalid parameter type for 'x', expected: string". */
    public static QmpException invalidParameterType(String name, String expected) {
        return generic("Invalid parameter type for '" + name + "', expected: " + expected);
    }

    /** QEMU's QERR_INVALID_PARAMETER_VALUE: "Parameter 'x' expects uint32_t" (what = a type or a description). */
    public static QmpException invalidParameterValue(String name, String what) {
        return generic("Parameter '" + name + "' expects " + what);
    }

    /** QEMU's input visitor's check_struct: "Parameter 'x' is unexpected". */
    public static QmpException unexpectedParameter(String name) {
        return generic("Parameter '" + name + "' is unexpected");
    }

    /** The reply's "error" member. */
    JsonObject toJson() {
        JsonObject error = new JsonObject();
        error.addProperty("class", errorClass);
        error.addProperty("desc", desc);
        return error;
    }
}
