package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.sys.UnixSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A QMP test client on the native socket, which can send file descriptors with its bytes (SCM_RIGHTS); a reader
 * thread splits the replies into lines as {@link QmpTestClient} does. Also counts this process's open descriptors.
 */
public final class NativeQmpClient implements AutoCloseable {
    public static final String EOF = "<EOF>";
    private static final long TIMEOUT_S = 5;

    private final UnixSocket socket;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread reader;

    private NativeQmpClient(UnixSocket socket) {
        this.socket = socket;
        this.reader = new Thread(this::readLoop, "qmp-test-native-client");
        this.reader.setDaemon(true);
        this.reader.start();
    }

    public static NativeQmpClient connect(Path path) {
        return new NativeQmpClient(UnixSocket.connect(path));
    }

    /** Connects, checks the greeting and negotiates capabilities. */
    public static NativeQmpClient negotiated(Path path) throws InterruptedException {
        NativeQmpClient c = connect(path);
        assertTrue(c.nextLine().startsWith("{\"QMP\": "));
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"qmp_capabilities\"}"));
        return c;
    }

    /** Sends {@code text} in one sendmsg, with {@code fds} (the server gets copies; ours stay open). */
    public void send(String text, int... fds) {
        send(text.getBytes(StandardCharsets.UTF_8), fds);
    }

    public void send(byte[] bytes, int... fds) {
        assertTrue(socket.send(bytes, fds), "the test client's socket is closed");
    }

    /** Sends one request line with {@code fds} and returns the next line received. */
    public String request(String json, int... fds) throws InterruptedException {
        send(json + "\n", fds);
        return nextLine();
    }

    /** The next line (without CR LF), or {@link #EOF}; fails after 5 s. */
    public String nextLine() throws InterruptedException {
        String line = lines.poll(TIMEOUT_S, TimeUnit.SECONDS);
        assertNotNull(line, "no message from the QMP server within " + TIMEOUT_S + " s");
        return line;
    }

    /** A line if one arrives within {@code millis}, else null. */
    public String pollLine(long millis) throws InterruptedException {
        return lines.poll(millis, TimeUnit.MILLISECONDS);
    }

    private void readLoop() {
        byte[] buffer = new byte[64 * 1024];
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            while (true) {
                UnixSocket.Received in = socket.receive(buffer);
                for (int fd : in.fds()) {
                    dev.mesovirt.vmm.sys.Fds.closeQuietly(fd); // a server never sends any; don't leak if it did
                }
                if (in.length() <= 0) {
                    break;
                }
                for (int i = 0; i < in.length(); i++) {
                    if (buffer[i] == '\n') {
                        byte[] bytes = line.toByteArray();
                        lines.add(new String(bytes, 0, Math.max(0, bytes.length - 1), StandardCharsets.UTF_8));
                        line.reset();
                    } else {
                        line.write(buffer[i]);
                    }
                }
            }
        } catch (RuntimeException e) {
            // reset by the server
        }
        lines.add(EOF);
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        reader.join(TimeUnit.SECONDS.toMillis(TIMEOUT_S));
    }

    /** How many of this process's descriptors refer to {@code file}. */
    public static long openCount(Path file) throws IOException {
        Path target = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(target);
                } catch (IOException e) {
                    return false; // closed meanwhile, or the listing's own directory descriptor
                }
            }).count();
        }
    }

    /**
     * This process's open descriptors and what each refers to (the listing's own directory descriptor excluded). A
     * leak check compares these rather than a count: other code in the same JVM (an earlier test's unreachable
     * file channel, closed by a cleaner after a GC) may close descriptors meanwhile, which must not hide a leak.
     */
    public static Map<Integer, String> openDescriptors() throws IOException {
        Path self = Path.of("/proc/self/fd");
        Path listing = self.toRealPath();
        Map<Integer, String> open = new TreeMap<>();
        try (Stream<Path> fds = Files.list(self)) {
            fds.forEach(fd -> {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (!target.equals(listing)) {
                        open.put(Integer.parseInt(fd.getFileName().toString()), target.toString());
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            });
        }
        return open;
    }

    /** The descriptors open now that were not open, to the same file, in {@code before}. */
    public static Map<Integer, String> openedSince(Map<Integer, String> before) throws IOException {
        Map<Integer, String> opened = openDescriptors();
        opened.entrySet().removeAll(before.entrySet());
        return opened;
    }
}
