package dev.mesovirt.cli.jailer;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.Spawn;
import dev.mesovirt.vmm.sys.Sys;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * --daemonize. The process that returns to the caller cannot be the one that waits for the VMM and removes the jail
 * afterwards, and a JVM cannot fork; so the jailer starts itself again (the same java command, from
 * /proc/self/cmdline) in a new session, with stdin on /dev/null and stdout and stderr on the log or /dev/null, and
 * waits for a word from that copy on a pipe. The copy does what a jailer in the foreground does (plan, jail, cgroup,
 * VMM, wait, clean up: the same code) and says "ready" once the VMM's sockets exist, or why it failed first.
 */
final class Daemon {
    /** Tells the copy that it is the daemon, and the number of the pipe's write end it reports on. */
    static final String READY_FD = "MESOVIRT_JAILER_READY_FD";

    private Daemon() {}

    /** The caller's side: starts the daemon, waits for its word and returns the exit code for the caller. */
    static int start(JailerOptions options) {
        List<String> argv;
        try {
            argv = ownCommand();
        } catch (IOException e) {
            System.err.println("mesovirt-jailer: --daemonize: cannot read this jailer's command: " + e.getMessage());
            return 1;
        }
        return start(options, argv, System.err);
    }

    /**
     * @param argv the daemon's command: this jailer's own, or a stand-in in tests
     * @param err where the caller's messages go
     */
    static int start(JailerOptions options, List<String> argv, PrintStream err) {
        String log = options.logPath().map(Path::toString).orElse("/dev/null");
        int[] pipe;
        int pid;
        try {
            Map<String, String> env = new HashMap<>(System.getenv());
            pipe = Spawn.pipe();
            env.put(READY_FD, Integer.toString(pipe[1]));
            // The caller's descriptors the VMM is to get, and the pipe; the copy's plan checks them.
            List<Integer> keep = new ArrayList<>();
            for (int fd : JailPlanner.namedDescriptors(options.vmmArgs())) {
                if (fd > 2 && Fds.isOpen(fd)) {
                    keep.add(fd);
                }
            }
            keep.add(pipe[1]);
            try {
                pid = Spawn.start(argv, env, keep, new Spawn.Detached(log), true);
            } finally {
                for (int fd : keep) { // the pipe's write end and the descriptors: the copy's now
                    Fds.closeQuietly(fd);
                }
            }
        } catch (ErrnoException e) {
            err.println("mesovirt-jailer: --daemonize: cannot start the jailer's copy: " + e.getMessage());
            return 1;
        }
        String word;
        try {
            word = readAll(pipe[0]).strip();
        } finally {
            Sys.close(pipe[0]);
        }
        if (word.equals("ready")) {
            return 0;
        }
        if (word.startsWith("error ")) {
            err.println("mesovirt-jailer: " + word.substring("error ".length()));
            return 1;
        }
        if (word.startsWith("exit ")) {
            int rc = Integer.parseInt(word.substring("exit ".length()));
            if (rc != 0) {
                err.println("mesovirt-jailer: the VMM ended with status " + rc + " before it was ready"
                        + (options.logPath().isPresent() ? "; its output is in " + log : " (--log-path keeps its output)"));
            }
            return rc;
        }
        err.println("mesovirt-jailer: the daemonized jailer (pid " + pid + ") ended without a word"
                + (options.logPath().isPresent() ? "; see " + log : ""));
        return 1;
    }

    /** This JVM's command line, with the executable as an absolute path. */
    private static List<String> ownCommand() throws IOException {
        List<String> argv = new ArrayList<>(cmdline(Files.readString(Path.of("/proc/self/cmdline"),
                StandardCharsets.UTF_8)));
        argv.set(0, Files.readSymbolicLink(Path.of("/proc/self/exe")).toString());
        return argv;
    }

    /** The arguments of a /proc/PID/cmdline: each ends with a NUL, so an empty one is kept, even the last. */
    static List<String> cmdline(String text) {
        List<String> argv = new ArrayList<>(List.of(text.split("\0", -1)));
        argv.removeLast(); // what follows the last NUL
        return argv;
    }

    private static String readAll(int fd) {
        StringBuilder text = new StringBuilder();
        Memory buffer = new Memory(4096);
        long n;
        while ((n = Sys.read(fd, buffer, buffer.size(), "the daemon's pipe")) > 0) {
            text.append(new String(buffer.getByteArray(0, (int) n), StandardCharsets.UTF_8));
        }
        return text.toString();
    }

    /** The daemon's side of the pipe: one word, then closed. Empty when this jailer is not a daemon. */
    static final class Channel {
        private int fd;

        private Channel(int fd) {
            this.fd = fd;
        }

        static Optional<Channel> fromEnvironment() throws JailerException {
            String text = System.getenv(READY_FD);
            if (text == null) {
                return Optional.empty();
            }
            int fd = text.matches("[0-9]{1,9}") ? Integer.parseInt(text) : -1;
            if (fd <= 2 || !Fds.isOpen(fd)) {
                throw new JailerException(READY_FD + "=" + text + " is not an open descriptor (it is for"
                        + " --daemonize's own use)");
            }
            return Optional.of(new Channel(fd));
        }

        void ready() {
            send("ready");
        }

        void exit(int rc) {
            send("exit " + rc);
        }

        void error(String message) {
            send("error " + message);
        }

        /** Whether the word is still to be said. */
        boolean waiting() {
            return fd >= 0;
        }

        private void send(String word) {
            if (fd < 0) {
                return;
            }
            byte[] bytes = (word.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8);
            Memory buffer = new Memory(bytes.length);
            buffer.write(0, bytes, 0, bytes.length);
            try {
                Sys.write(fd, buffer, bytes.length, "the daemon's pipe");
            } catch (ErrnoException e) {
                // the caller is gone (EPIPE): nobody to tell
            } finally {
                Fds.closeQuietly(fd);
                fd = -1;
            }
        }
    }
}
