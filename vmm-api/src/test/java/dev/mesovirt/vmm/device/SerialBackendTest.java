package dev.mesovirt.vmm.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SerialBackendTest {
    /** A receiver that takes everything into a buffer. */
    private static final class Sink implements SerialBackend.Receiver {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();

        @Override
        public synchronized int offer(byte[] data, int offset, int length) {
            got.write(data, offset, length);
            notifyAll();
            return length;
        }

        @Override
        public void awaitRoom(long timeoutMillis) {}

        synchronized String await(int bytes) throws InterruptedException {
            long deadline = System.currentTimeMillis() + 5000;
            while (got.size() < bytes && System.currentTimeMillis() < deadline) {
                wait(50);
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void streamsDeliverInputAndOutput() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (SerialBackend b = SerialBackend.of(new ByteArrayInputStream("typed".getBytes()), out)) {
            Sink sink = new Sink();
            b.start(sink);
            assertEquals("typed", sink.await(5));
            assertThrows(IllegalStateException.class, () -> b.start(sink));
            b.write("out".getBytes(), 0, 3);
            b.write('!');
            b.flush();
            assertEquals("out!", out.toString());
        }
    }

    @Test
    void outputLargerThanTheBufferIsNotLost() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] data = new byte[300_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        try (SerialBackend b = SerialBackend.of(null, out)) {
            for (int i = 0; i < 1000; i++) {
                b.write(data[i]);
            }
            b.write(data, 1000, data.length - 1000);
        }
        assertEquals(data.length, out.size());
        assertTrue(java.util.Arrays.equals(data, out.toByteArray()));
    }

    @Test
    void ctrlAEscapes() throws Exception {
        CountDownLatch quit = new CountDownLatch(1);
        byte[] in = {'a', 0x01, 0x01, 'b', 0x01, 'z', 'c', 0x01, 'x', 'd'};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (SerialBackend b = SerialBackend.of(new ByteArrayInputStream(in), out, quit::countDown)) {
            Sink sink = new Sink();
            b.start(sink);
            assertTrue(quit.await(5, TimeUnit.SECONDS), "Ctrl-A x quits");
            assertEquals("a\u0001bc", sink.await(4), "Ctrl-A Ctrl-A is a literal Ctrl-A; Ctrl-A z is dropped");
            Thread.sleep(50);
            assertEquals("a\u0001bc", sink.await(4), "nothing is read after quitting");
        }
    }

    @Test
    void escapeSplitAcrossReads() throws Exception {
        CountDownLatch quit = new CountDownLatch(1);
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream in = new PipedInputStream(feed);
        try (SerialBackend b = SerialBackend.of(in, new ByteArrayOutputStream(), quit::countDown)) {
            Sink sink = new Sink();
            b.start(sink);
            feed.write(new byte[] {'k', 0x01});
            feed.flush();
            assertEquals("k", sink.await(1));
            Thread.sleep(30);
            feed.write('x');
            feed.flush();
            assertTrue(quit.await(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void plainStreamsPassCtrlAThrough() throws Exception {
        byte[] in = {0x01, 'x'};
        try (SerialBackend b = SerialBackend.of(new ByteArrayInputStream(in), new ByteArrayOutputStream())) {
            Sink sink = new Sink();
            b.start(sink);
            assertEquals("\u0001x", sink.await(2));
        }
    }

    @Test
    void fileAppends(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("console.log");
        Files.writeString(log, "before\n");
        try (SerialBackend b = SerialBackend.file(log)) {
            b.start(new Sink()); // no input: ignored
            b.write("after\n".getBytes(), 0, 6);
        }
        assertEquals("before\nafter\n", Files.readString(log));
    }

    /**
     * The none backend swallows output, however much, without blocking or printing it anywhere, and delivers no
     * input even while this process's stdin has some.
     */
    @Test
    void noneDiscards() throws Exception {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        InputStream stdin = System.in;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(printed, true)) {
            System.setOut(capture);
            System.setErr(capture);
            System.setIn(new ByteArrayInputStream("typed".getBytes()));
            SerialBackend b = SerialBackend.none();
            Sink sink = new Sink();
            b.start(sink);
            // Four times what a buffering backend holds before a write waits for its flusher.
            byte[] burst = new byte[4 * SerialBackend.Streams.CAPACITY];
            java.util.Arrays.fill(burst, (byte) 'x');
            assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
                for (int i = 0; i < SerialBackend.Streams.CAPACITY; i++) {
                    b.write('y');
                }
                b.write(burst, 0, burst.length);
                b.flush();
            });
            Thread.sleep(200); // what a reader thread would have delivered by now (the stream backends: at once)
            assertEquals("", sink.await(0), "no input reaches the receiver");
            b.close();
            b.write('z');
            System.out.flush();
            System.err.flush();
            assertEquals(0, printed.size(), "nothing printed: " + printed);
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
            System.setIn(stdin);
        }
    }

    @Test
    void writesAfterCloseAreDropped() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SerialBackend b = SerialBackend.of(null, out);
        b.write('a');
        b.close();
        b.close();
        b.write('b');
        assertEquals("a", out.toString());
    }

    @Test
    void failingOutputDoesNotStallTheGuest() {
        java.io.OutputStream broken = new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                throw new java.io.IOException("broken pipe");
            }
        };
        try (SerialBackend b = SerialBackend.of(null, broken)) {
            byte[] chunk = new byte[100_000];
            for (int i = 0; i < 10; i++) {
                b.write(chunk, 0, chunk.length); // would block forever if failures kept the buffer full
            }
            b.flush();
        }
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
