package dev.mesovirt.vmm.virtio;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where a virtio console's bytes go: a listening UNIX socket (-chardev socket,server,nowait) or stdio. */
public abstract class ConsoleBackend implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleBackend.class);

    /** Receives input bytes (on the backend's reader thread). */
    public interface Sink {
        void input(byte[] data);
    }

    protected volatile boolean closed;

    /** Starts the reader thread. */
    abstract void start(Sink sink);

    /** Writes guest output; drops it when nobody is connected. */
    abstract void output(ByteBuffer data) throws IOException;

    @Override
    public abstract void close();

    /** A UNIX socket server at {@code path}; one client at a time; output is dropped while none is connected. */
    public static ConsoleBackend socketServer(Path path) throws IOException {
        return new SocketServer(path);
    }

    public static ConsoleBackend stdio() {
        return new Stdio();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static final class SocketServer extends ConsoleBackend {
        private final Path path;
        private final ServerSocketChannel server;
        private volatile SocketChannel client;

        SocketServer(Path path) throws IOException {
            this.path = path;
            try {
                BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class,
                        java.nio.file.LinkOption.NOFOLLOW_LINKS);
                if (a.isOther()) {
                    Files.delete(path); // a stale socket from an earlier run
                } else {
                    throw new IOException(path + ": exists and is not a socket");
                }
            } catch (java.nio.file.NoSuchFileException e) {
                // fine
            }
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(path));
        }

        @Override
        void start(Sink sink) {
            daemon(() -> {
                ByteBuffer buf = ByteBuffer.allocate(4096);
                while (!closed) {
                    try (SocketChannel c = server.accept()) {
                        client = c;
                        while (!closed) {
                            buf.clear();
                            int n = c.read(buf);
                            if (n < 0) {
                                break;
                            }
                            byte[] data = new byte[n];
                            buf.flip();
                            buf.get(data);
                            sink.input(data);
                        }
                    } catch (IOException e) {
                        if (!closed) {
                            LOG.debug("console socket {}: {}", path, e.getMessage());
                        }
                    } finally {
                        client = null;
                    }
                }
            }, "console-" + path.getFileName());
        }

        @Override
        void output(ByteBuffer data) throws IOException {
            SocketChannel c = client;
            if (c == null) {
                return;
            }
            while (data.hasRemaining()) {
                c.write(data);
            }
        }

        @Override
        public void close() {
            closed = true;
            try {
                server.close();
                SocketChannel c = client;
                if (c != null) {
                    c.close();
                }
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    private static final class Stdio extends ConsoleBackend {
        private final InputStream in = System.in;
        private final OutputStream out = System.out;

        @Override
        void start(Sink sink) {
            daemon(() -> {
                byte[] buf = new byte[4096];
                try {
                    int n;
                    while (!closed && (n = in.read(buf)) > 0) {
                        sink.input(java.util.Arrays.copyOf(buf, n));
                    }
                } catch (IOException e) {
                    LOG.debug("console stdin: {}", e.getMessage());
                }
            }, "console-stdio");
        }

        @Override
        void output(ByteBuffer data) throws IOException {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            synchronized (out) {
                out.write(b);
                out.flush();
            }
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
