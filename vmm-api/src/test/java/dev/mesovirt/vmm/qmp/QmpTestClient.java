package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A raw QMP client for tests: writes bytes as given, and a background thread splits what the server sends into
 * CR LF terminated lines (checking the terminator), so a test never blocks on a server that stays silent.
 */
final class QmpTestClient implements AutoCloseable {
    static final String EOF = "<EOF>";
    private static final long TIMEOUT_S = 5;

    private final SocketChannel channel;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Thread reader;

    private QmpTestClient(SocketChannel channel, boolean read) {
        this.channel = channel;
        this.reader = new Thread(this::readLoop, "qmp-test-client");
        this.reader.setDaemon(true);
        if (read) {
            reader.start();
        }
    }

    static QmpTestClient connect(Path socket) throws IOException {
        return new QmpTestClient(open(socket), true);
    }

    /** A client that never reads what the server sends until {@link #startReading()}. */
    static QmpTestClient connectNotReading(Path socket) throws IOException {
        return new QmpTestClient(open(socket), false);
    }

    private static SocketChannel open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
    }

    void startReading() {
        reader.start();
    }

    /** Connects, checks the greeting and negotiates capabilities. */
    static QmpTestClient negotiated(Path socket) throws IOException, InterruptedException {
        QmpTestClient c = connect(socket);
        assertTrue(c.nextLine().startsWith("{\"QMP\": "));
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"qmp_capabilities\"}"));
        return c;
    }

    void send(String text) throws IOException {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    void send(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** Sends one request line and returns the next line received. */
    String request(String json) throws IOException, InterruptedException {
        send(json + "\n");
        return nextLine();
    }

    /** The next line (without CR LF), or {@link #EOF}; fails after 5 s. */
    String nextLine() throws InterruptedException {
        String line = lines.poll(TIMEOUT_S, TimeUnit.SECONDS);
        assertNotNull(line, "no message from the QMP server within " + TIMEOUT_S + " s");
        return line;
    }

    JsonObject nextJson() throws InterruptedException {
        return JsonParser.parseString(nextLine()).getAsJsonObject();
    }

    /** A line if one arrives within {@code millis}, else null. */
    String pollLine(long millis) throws InterruptedException {
        return lines.poll(millis, TimeUnit.MILLISECONDS);
    }

    /** Reads until the server closes the connection (what was sent before is skipped); fails after 5 s. */
    void awaitEof() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (true) {
            String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertNotNull(line, "the QMP server did not close the connection");
            if (line.equals(EOF)) {
                return;
            }
        }
    }

    private void readLoop() {
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int previous = -1;
        try {
            while (channel.read(in) >= 0) {
                in.flip();
                while (in.hasRemaining()) {
                    int b = in.get() & 0xff;
                    if (b == '\n') {
                        if (previous != '\r') {
                            lines.add("<LF without CR>");
                        }
                        byte[] bytes = line.toByteArray();
                        lines.add(new String(bytes, 0, Math.max(0, bytes.length - 1), StandardCharsets.UTF_8));
                        line.reset();
                    } else {
                        line.write(b);
                    }
                    previous = b;
                }
                in.clear();
            }
        } catch (IOException e) {
            // closed by the test or reset by the server
        }
        lines.add(EOF);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
