package dev.mesovirt.cli;

import dev.mesovirt.machine.standard.PciTopology;
import dev.mesovirt.vmm.arch.MachineType;
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
     * @param machineType -machine's type: microvm, or the standard machine (q35, virt)
     * @param machineName the name -machine gave it (microvm, q35 or virt), which the host's architecture must have
     * @param pci the standard machine's root ports (-device pcie-root-port); none on the microVM
     * @param frozen -S: the vCPUs wait for QMP's cont before the guest's first instruction
     * @param seccomp whether the seccomp filter goes in once the machine is built (no -disable-seccomp)
     * @param pflash the standard machine's firmware flash units (-drive if=pflash), checked; none on the microVM
     * @param firmwareAcpi -machine virt,acpi=on: the firmware gets the machine's ACPI tables (q35's always does)
     * @param incoming -incoming file:DIR: the snapshot directory to restore instead of booting
     */
    record Run(MachineConfig config, Optional<Path> logFile, boolean verboseLog, Optional<Path> qmpSocket,
            MachineType machineType, String machineName, PciTopology pci, boolean frozen, boolean seccomp,
            java.util.List<dev.mesovirt.vmm.firmware.FlashImage> pflash, boolean firmwareAcpi, Optional<Path> incoming)
            implements ParseResult {
        public Run {
            pflash = java.util.List.copyOf(pflash);
            Objects.requireNonNull(incoming, "incoming");
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(logFile, "logFile");
            Objects.requireNonNull(qmpSocket, "qmpSocket");
            Objects.requireNonNull(machineType, "machineType");
            Objects.requireNonNull(machineName, "machineName");
            Objects.requireNonNull(pci, "pci");
            if (logFile.isPresent() && !verboseLog) {
                throw new IllegalArgumentException("a log file implies verbose logging");
            }
            if (machineType == MachineType.MICROVM && !pci.rootPorts().isEmpty()) {
                throw new IllegalArgumentException("the microVM has no PCI root ports");
            }
            if (frozen && qmpSocket.isEmpty()) {
                throw new IllegalArgumentException("a frozen machine needs a QMP monitor to continue it");
            }
        }

        /** A boot, not a restore. */
        public Run(MachineConfig config, Optional<Path> logFile, boolean verboseLog, Optional<Path> qmpSocket,
                MachineType machineType, String machineName, PciTopology pci, boolean frozen, boolean seccomp) {
            this(config, logFile, verboseLog, qmpSocket, machineType, machineName, pci, frozen, seccomp,
                    java.util.List.of(), false, Optional.empty());
        }

        /** A microVM run without QMP: -D LOGFILE when {@code logFile} is present, no -D otherwise. */
        public Run(MachineConfig config, Optional<Path> logFile) {
            this(config, logFile, logFile.isPresent(), Optional.empty(), MachineType.MICROVM, "microvm",
                    PciTopology.NONE, false, true, java.util.List.of(), false, Optional.empty());
        }
    }

    /** -h / --help: print {@link CommandLine#helpText()} to stdout, exit 0. */
    record Help() implements ParseResult {}

    /** -V / --version: print {@link CommandLine#versionText()} to stdout, exit 0. */
    record Version() implements ParseResult {}
}
