package dev.mesovirt.vmm.machine;

import java.nio.file.Path;

/** Where the guest's first serial port is connected. */
public sealed interface SerialConfig {
    /** This process's stdin and stdout (stdin in raw mode when it is a terminal). */
    record Stdio() implements SerialConfig {}

    /** Guest output appended to a file; no input. */
    record File(Path path) implements SerialConfig {}

    /** Not connected: output discarded, no input. */
    record None() implements SerialConfig {}
}
