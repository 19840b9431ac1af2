package dev.mesovirt.cli;

import dev.mesovirt.machine.microvm.LightMachine;
import dev.mesovirt.machine.standard.StandardMachine;
import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.Architectures;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.machine.MachineException;
import dev.mesovirt.vmm.machine.MachineFacade;
import dev.mesovirt.vmm.machine.MachineQmp;
import dev.mesovirt.vmm.machine.Outcome;
import dev.mesovirt.vmm.qmp.QmpVersion;
import dev.mesovirt.vmm.seccomp.SeccompFilter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesovirt command: parse, configure logging, boot, exit with the machine's exit code.
 *
 * <p>Exit codes: whatever {@link LightMachine#run()} returns (0 powered off, 3 guest panic, 1 VMM failure); 0 for
 * --help/--version; 1 for a usage error or a {@link MachineException}; 2 for any other exception (a bug).
 *
 * <p>This is on the boot-time critical path, so: no static Logger (slf4j-simple reads its system properties once, at
 * the first LoggerFactory call, which must come after {@link #configureLogging}), no lambdas, no pattern switches
 * (both bootstrap through invokedynamic), no String.format.
 */
public final class Main {
    static final int EXIT_USAGE = 1;
    static final int EXIT_INTERNAL = 2;

    /** The QEMU version QMP's greeting and query-version give, StratoVirt's: see {@link #qmpVersion()}. */
    static final int QMP_QEMU_MAJOR = 5;
    static final int QMP_QEMU_MINOR = 0;
    static final int QMP_QEMU_MICRO = 1;

    private static final String SIMPLE_LOGGER = "org.slf4j.simpleLogger.";
    private static final String[] LEVELS = {"trace", "debug", "info", "warn", "error", "off"};

    private Main() {}

    public static void main(String[] args) {
        // JNA's start-up (its native stub, the libc binding, ~40 registered methods: some 45 ms, mostly interpreted)
        // runs on the second core while this thread parses the command line and starts building the machine; the
        // first native call there waits for it (class initialisation is once, for all threads).
        Thread natives = new Thread(new NativeWarmUp(), "jna-init");
        natives.setDaemon(true);
        natives.start();
        System.exit(run(args));
    }

    /** Initialises the libc binding; a nested class rather than a lambda (see the class comment). */
    private static final class NativeWarmUp implements Runnable {
        @Override
        public void run() {
            dev.mesovirt.vmm.sys.LibC.getpid();
        }
    }

    /** Everything but System.exit; returns the exit code. */
    static int run(String[] args) {
        ParseResult parsed;
        try {
            parsed = new CommandLine().parse(args);
        } catch (UsageException e) {
            System.err.println("mesovirt: " + e.getMessage());
            return EXIT_USAGE;
        }
        if (parsed instanceof ParseResult.Help) {
            System.out.print(CommandLine.helpText());
            System.out.flush();
            return 0;
        }
        if (parsed instanceof ParseResult.Version) {
            System.out.print(CommandLine.versionText());
            System.out.flush();
            return 0;
        }
        ParseResult.Run run = (ParseResult.Run) parsed;
        String problem = configureLogging(run.logFile(), run.verboseLog(), System.getenv("MESOVIRT_LOG"));
        if (problem != null) {
            System.err.println("mesovirt: " + problem);
            return EXIT_USAGE;
        }
        SeccompFilter.Mode seccomp = null;
        if (run.seccomp()) {
            seccomp = seccompMode(System.getenv("MESOVIRT_SECCOMP"));
            if (seccomp == null) {
                System.err.println("mesovirt: MESOVIRT_SECCOMP=" + System.getenv("MESOVIRT_SECCOMP")
                        + ": expected kill (the default) or log (violations logged, not killed: for measuring)");
                return EXIT_USAGE;
            }
        }
        try {
            return run(run, seccomp);
        } catch (MachineException e) {
            // The message is for the user; the cause chain is for whoever raises the log level.
            logger().debug("machine error", e);
            System.err.println("mesovirt: " + e.getMessage());
            return EXIT_USAGE;
        } catch (Throwable t) {
            try {
                logger().error("internal error", t);
            } catch (Throwable ignored) {
                t.printStackTrace();
            }
            System.err.println("mesovirt: internal error: " + t);
            return EXIT_INTERNAL;
        }
    }

    /**
     * Boots the machine the command line names (the microVM, or the standard machine with -machine q35) and waits
     * for it to stop; with -qmp, the QMP server listens before the guest starts and says SHUTDOWN at the end.
     */
    private static int run(ParseResult.Run run, SeccompFilter.Mode seccomp) {
        checkMachineType(Architectures.host(), run.machineName());
        MachineFacade machine = run.machineType() == MachineType.STANDARD
                ? new StandardMachine(run.config(), run.pci(), run.pflash(),
                        run.firmwareAcpi() || !run.machineName().equals("virt"),
                        dev.mesovirt.vmm.arch.Architectures.host(), dev.mesovirt.vmm.kvm.Kvm.DEFAULT_PATH)
                : new LightMachine(run.config());
        machine.seccomp(seccomp);
        run.incoming().ifPresent(machine.core()::incoming);
        if (run.qmpSocket().isEmpty()) {
            return machine.run();
        }
        MachineQmp qmp = null;
        try {
            try {
                qmp = MachineQmp.listen(machine.core(), machine.deviceHotplug(), run.qmpSocket().get(), qmpVersion());
            } catch (java.io.UncheckedIOException e) {
                throw new MachineException("-qmp " + run.qmpSocket().get() + ": " + e.getCause().getMessage(), e);
            }
            machine.start(run.frozen());
            // Greeting only now: a client that connected during the build (Kata's waitVM retries from the first
            // moment) sees the machine "running" (or "prelaunch" with -S), as QEMU's and StratoVirt's clients do.
            qmp.serve();
            Outcome outcome = machine.awaitOutcome();
            MachineQmp q = qmp;
            qmp = null;
            q.close(outcome);
            return outcome.exitCode();
        } finally {
            if (qmp != null) {
                qmp.close(null);
            }
            machine.close();
        }
    }

    /** -machine's name must be a machine type of the host's architecture (q35 is x86_64's, virt aarch64's). */
    static void checkMachineType(Architecture arch, String name) {
        if (!arch.machineTypes().containsKey(name)) {
            throw new MachineException("-machine " + name + ": not a machine type of " + arch.name() + " (it has: "
                    + String.join(", ", new java.util.TreeSet<>(arch.machineTypes().keySet())) + ")");
        }
    }

    /**
     * The seccomp violation action $MESOVIRT_SECCOMP asks for: unset, empty or {@code kill}: kill the process; {@code
     * log}: the kernel logs the call and lets it run (ci/seccomp-measure.sh's mode); null for anything else.
     */
    static SeccompFilter.Mode seccompMode(String env) {
        if (env == null || env.isEmpty() || env.equals("kill")) {
            return SeccompFilter.Mode.KILL;
        }
        return env.equals("log") ? SeccompFilter.Mode.LOG : null;
    }

    /**
     * QMP's VersionInfo: in "qemu" the QEMU version whose protocol Mesovirt answers as, StratoVirt's 5.0.1 (govmm,
     * Kata Containers' QMP client, refuses a greeting below 5.0), and this build's own version in "package":
     * "Mesovirt 0.1.0-SNAPSHOT".
     */
    static QmpVersion qmpVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new QmpVersion(QMP_QEMU_MAJOR, QMP_QEMU_MINOR, QMP_QEMU_MICRO,
                "Mesovirt " + (v == null ? "development build" : v));
    }

    private static Logger logger() {
        return LoggerFactory.getLogger(Main.class);
    }

    /**
     * Sets slf4j-simple's system properties; must run before the first LoggerFactory call. Properties already set
     * (e.g. -Dorg.slf4j.simpleLogger.defaultLogLevel=... in MESOVIRT_JAVA_OPTS) win over ours.
     *
     * @param logFile -D's file; empty: stderr
     * @param verbose whether -D was given: info rather than warn
     * @param envLevel $MESOVIRT_LOG, overriding the level; may be null
     * @return null, or a one-line error message
     */
    static String configureLogging(Optional<Path> logFile, boolean verbose, String envLevel) {
        String level = verbose ? "info" : "warn";
        if (envLevel != null && !envLevel.isEmpty()) {
            String wanted = envLevel.trim().toLowerCase(Locale.ROOT);
            if (!isLevel(wanted)) {
                return "MESOVIRT_LOG=" + envLevel + ": unknown log level (expected trace, debug, info, warn, error or off)";
            }
            level = wanted;
        }
        String target = "System.err";
        if (logFile.isPresent()) {
            Path file = logFile.get();
            // Open it ourselves first: slf4j-simple would print a warning and fall back to stderr.
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                out.flush();
            } catch (IOException | SecurityException e) {
                return "-D " + file + ": cannot open the log file (" + e.getMessage() + ")";
            }
            target = file.toString();
        }
        setDefault(SIMPLE_LOGGER + "defaultLogLevel", level);
        setDefault(SIMPLE_LOGGER + "logFile", target);
        setDefault(SIMPLE_LOGGER + "showDateTime", "true");
        setDefault(SIMPLE_LOGGER + "dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        setDefault(SIMPLE_LOGGER + "showShortLogName", "true");
        setDefault(SIMPLE_LOGGER + "levelInBrackets", "true");
        return null;
    }

    private static boolean isLevel(String level) {
        for (String l : LEVELS) {
            if (l.equals(level)) {
                return true;
            }
        }
        return false;
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
