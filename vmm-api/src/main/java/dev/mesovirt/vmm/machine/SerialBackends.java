package dev.mesovirt.vmm.machine;

import dev.mesovirt.vmm.device.SerialBackend;

/** Opens the {@link SerialBackend} a {@link SerialConfig} names. */
final class SerialBackends {
    private SerialBackends() {}

    static SerialBackend open(SerialConfig config, Runnable onQuit) {
        return switch (config) {
            case SerialConfig.Stdio s -> SerialBackend.stdio(onQuit);
            case SerialConfig.File f -> {
                try {
                    yield SerialBackend.file(f.path());
                } catch (java.io.UncheckedIOException e) {
                    throw new IllegalArgumentException("-serial file:" + f.path() + ": " + e.getCause().getMessage(), e);
                }
            }
            case SerialConfig.None n -> SerialBackend.none();
        };
    }
}
