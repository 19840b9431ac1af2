package dev.mesovirt.arch.riscv64;

import java.util.Locale;

/**
 * How KVM implements the guest's IMSICs: {@code emul} traps and emulates them, {@code hwaccel} maps the host's
 * guest interrupt files (needs hardware with them: QEMU's {@code aia-guests=N}), {@code auto} lets KVM pick
 * (hardware when it can). Chosen with the system property {@value #PROPERTY} (e.g.
 * {@code MESOVIRT_JAVA_OPTS=-Dmesovirt.riscv.aia-mode=emul}) or the environment variable {@value #ENV}; default auto.
 */
public enum AiaMode {
    EMUL(RiscvKvm.AIA_MODE_EMUL),
    HWACCEL(RiscvKvm.AIA_MODE_HWACCEL),
    AUTO(RiscvKvm.AIA_MODE_AUTO);

    public static final String PROPERTY = "mesovirt.riscv.aia-mode";
    public static final String ENV = "MESOVIRT_RISCV_AIA_MODE";

    private final int kvmValue;

    AiaMode(int kvmValue) {
        this.kvmValue = kvmValue;
    }

    public int kvmValue() {
        return kvmValue;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The mode for a KVM value read back from the device (after CTRL_INIT auto has become emul or hwaccel). */
    public static AiaMode ofKvm(long value) {
        for (AiaMode m : values()) {
            if (m.kvmValue == value) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown AIA mode " + value);
    }

    /** Parses auto, hwaccel or emul (case-insensitive); anything else is a configuration error. */
    public static AiaMode parse(String text, String source) {
        for (AiaMode m : values()) {
            if (m.label().equalsIgnoreCase(text.trim())) {
                return m;
            }
        }
        throw new IllegalArgumentException(source + "=" + text + ": the AIA mode must be auto, hwaccel or emul");
    }

    /** From the system property, else the environment variable, else auto. */
    public static AiaMode configured() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) {
            return parse(p, "-D" + PROPERTY);
        }
        String e = System.getenv(ENV);
        if (e != null && !e.isBlank()) {
            return parse(e, ENV);
        }
        return AUTO;
    }
}
