package dev.mesovirt.cli;

import dev.mesovirt.vmm.machine.MachineConfig;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/** What the command line asks for. Errors are not a result: {@link CommandLine#parse} throws {@link UsageException}. */
public sealed interface ParseResult permits ParseResult.Run, ParseResult.Help, ParseResult.Version {

    /**
     * Boot a guest.
     *
     * @param config the machine to build
     * @param logFile where -D sends the log; empty means stderr
     * @param verboseLog whether -D was given (log at info level rather than warn)
     * @param qmpSocket where the QMP server listens (-qmp unix:PATH or -mon on a socket -chardev)
     */
    record Run(MachineConfig config, Optional<Path> logFile, boolean verboseLog, Optional<Path> qmpSocket)
            implements ParseResult {
        public Run {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(logFile, "logFile");
            Objects.requireNonNull(qmpSocket, "qmpSocket");
            if (logFile.isPresent() && !verboseLog) {
                throw new IllegalArgumentException("a log file implies verbose logging");
            }
        }

        /** -D LOGFILE when {@code logFile} is present, no -D otherwise. */
        public Run(MachineConfig config, Optional<Path> logFile) {
            this(config, logFile, logFile.isPresent(), Optional.empty());
        }
    }

    /** -h / --help: print {@link CommandLine#helpText()} to stdout, exit 0. */
    record Help() implements ParseResult {}

    /** -V / --version: print {@link CommandLine#versionText()} to stdout, exit 0. */
    record Version() implements ParseResult {}
}
