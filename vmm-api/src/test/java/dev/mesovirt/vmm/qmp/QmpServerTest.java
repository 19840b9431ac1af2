package dev.mesovirt.vmm.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The QMP server over a real UNIX socket: QEMU's greeting, negotiation, errors, ids, events and framing. */
@Timeout(20)
class QmpServerTest {
    private static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"minor\": 2, \"major\": 1},"
            + " \"package\": \"mesovirt-test\"}, \"capabilities\": []}}";

    @TempDir
    Path dir;
    private Path socket;
    private QmpServer server;
    private final List<QmpTestClient> clients = new ArrayList<>();

    static QmpCommands testCommands() {
        return new QmpCommands()
                .register("nothing", a -> {
                    a.checkUnexpected();
                    return null;
                })
                .register("echo", QmpArguments::toJson)
                .register("boom", a -> {
                    throw new IllegalStateException("kaboom");
                })
                .register("missing-device", a -> {
                    throw QmpException.deviceNotFound("Device 'disk9' not found");
                })
                .register("nan", a -> new JsonPrimitive(Double.NaN))
                .register("typed", a -> {
                    String s = a.requiredString("s");
                    int n = a.optionalInt("n", 7);
                    a.checkUnexpected();
                    return new JsonPrimitive(s + n);
                })
                .registerEvent("STOP")
                .registerEvent("RESUME");
    }

    @BeforeEach
    void start() {
        socket = dir.resolve("qmp.sock");
        server = new QmpServer(socket, new QmpVersion(1, 2, 3, "mesovirt-test"), testCommands());
        server.start();
    }

    @AfterEach
    void stop() throws IOException {
        for (QmpTestClient c : clients) {
            c.close();
        }
        server.close();
        assertFalse(Files.exists(socket), "close() deletes the socket file");
        assertEquals(0, server.unexpectedErrors(), "no exception escaped the server's threads");
    }

    private QmpTestClient connect() throws IOException {
        QmpTestClient c = QmpTestClient.connect(socket);
        clients.add(c);
        return c;
    }

    /** Greeted and negotiated; the extra round trip guarantees events are enabled when this returns. */
    private QmpTestClient negotiated() throws IOException, InterruptedException {
        QmpTestClient c = QmpTestClient.negotiated(socket);
        clients.add(c);
        assertTrue(c.request("{\"execute\": \"query-version\"}").startsWith("{\"return\": "));
        return c;
    }

    private static String error(String errorClass, String desc) {
        return "{\"error\": {\"class\": \"" + errorClass + "\", \"desc\": \"" + desc + "\"}}";
    }

    private static String generic(String desc) {
        return error("GenericError", desc);
    }

    @Test
    void greetingIsQemusLineWithCrLf() throws Exception {
        QmpTestClient c = connect();
        assertEquals(GREETING, c.nextLine());
        assertNull(c.pollLine(100), "nothing else before a request");
    }

    @Test
    void socketFileIsMode0600() throws IOException {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
    }

    @Test
    void negotiationRules() throws Exception {
        QmpTestClient c = connect();
        c.nextLine();
        String expecting = error("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
        assertEquals(expecting, c.request("{\"execute\": \"query-commands\"}"));
        assertEquals(expecting, c.request("{\"execute\": \"no-such-command\"}"));
        assertEquals(expecting, c.request("{\"execute\": \"nothing\"}"));
        // malformed requests are GenericErrors in either state
        assertEquals(generic("QMP input lacks member 'execute'"), c.request("{}"));
        assertEquals(generic("Capability oob not available"),
                c.request("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}"));
        assertEquals(generic("Parameter 'null' does not accept value 'x'"),
                c.request("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"x\"]}}"));
        assertEquals(generic("Invalid parameter type for 'enable', expected: array"),
                c.request("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}"));
        assertEquals(generic("Invalid parameter type for 'enable[1]', expected: string"),
                c.request("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\", 2]}}"));
        assertEquals(generic("Parameter 'foo' is unexpected"),
                c.request("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"foo\": 1}}"));
        // still negotiating after those failures
        assertEquals(expecting, c.request("{\"execute\": \"query-version\"}"));
        assertEquals("{\"return\": {}}",
                c.request("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}}"));
        assertEquals(error("CommandNotFound", "Capabilities negotiation is already complete, command ignored"),
                c.request("{\"execute\": \"qmp_capabilities\"}"));
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"nothing\"}"));
    }

    @Test
    void builtInQueries() throws Exception {
        QmpTestClient c = negotiated();
        assertEquals("{\"return\": [{\"name\": \"boom\"}, {\"name\": \"closefd\"}, {\"name\": \"echo\"},"
                + " {\"name\": \"getfd\"}, {\"name\": \"missing-device\"},"
                + " {\"name\": \"nan\"}, {\"name\": \"nothing\"}, {\"name\": \"qmp_capabilities\"},"
                + " {\"name\": \"query-commands\"}, {\"name\": \"query-events\"}, {\"name\": \"query-version\"},"
                + " {\"name\": \"typed\"}]}", c.request("{\"execute\": \"query-commands\"}"));
        assertEquals("{\"return\": [{\"name\": \"RESUME\"}, {\"name\": \"STOP\"}]}",
                c.request("{\"execute\": \"query-events\"}"));
        assertEquals("{\"return\": {\"qemu\": {\"micro\": 3, \"minor\": 2, \"major\": 1}, \"package\": \"mesovirt-test\"}}",
                c.request("{\"execute\": \"query-version\"}"));
        assertEquals(generic("Parameter 'verbose' is unexpected"),
                c.request("{\"execute\": \"query-commands\", \"arguments\": {\"verbose\": true}}"));
    }

    @Test
    void requestErrorsAreQemus() throws Exception {
        QmpTestClient c = negotiated();
        assertEquals(generic("QMP input must be a JSON object"), c.request("[1, 2]"));
        assertEquals(generic("QMP input must be a JSON object"), c.request("42"));
        assertEquals(generic("QMP input must be a JSON object"), c.request("\"query-version\""));
        assertEquals(generic("QMP input lacks member 'execute'"), c.request("{\"arguments\": {}}"));
        assertEquals(generic("QMP input member 'execute' must be a string"), c.request("{\"execute\": 1}"));
        assertEquals(generic("QMP input member 'execute' must be a string"), c.request("{\"execute\": null}"));
        assertEquals(generic("QMP input member 'arguments' must be an object"),
                c.request("{\"execute\": \"nothing\", \"arguments\": []}"));
        assertEquals(generic("QMP input member 'xyz' is unexpected"),
                c.request("{\"execute\": \"nothing\", \"xyz\": 1}"));
        // OOB is never offered, so exec-oob is just an unknown member (QEMU without OOB)
        assertEquals(generic("QMP input member 'exec-oob' is unexpected"), c.request("{\"exec-oob\": \"nothing\"}"));
        assertEquals(error("CommandNotFound", "The command xyz has not been found"),
                c.request("{\"execute\": \"xyz\"}"));
        assertEquals(generic("JSON parse error, duplicate key"),
                c.request("{\"execute\": \"nothing\", \"execute\": \"nothing\"}"));
        c.send(new byte[]{'{', '"', 'e', 'x', 'e', 'c', 'u', 't', 'e', '"', ':', '"', (byte) 0xc3, '(', '"', '}'});
        assertEquals(generic("JSON parse error, invalid UTF-8 sequence in string"), c.nextLine());
        for (String malformed : List.of("{\"execute\": }", "{\"execute\" \"nothing\"}", "{\"execute\": \"nothing\",}",
                "[1,]", "tru", "}", "{'execute': 'nothing'}", "{execute: \"nothing\"}", "{\"a\": NaN}")) {
            String reply = c.request(malformed);
            assertTrue(reply.startsWith("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "),
                    malformed + " -> " + reply);
        }
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"nothing\"}"));
    }

    @Test
    void commandResultsAndFailures() throws Exception {
        QmpTestClient c = negotiated();
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"nothing\"}"));
        assertEquals("{\"return\": {\"a\": [1, 2.50, \"\\u2028\"], \"b\": null}}",
                c.request("{\"execute\": \"echo\", \"arguments\": {\"a\": [1, 2.50, \"\\u2028\"], \"b\": null}}"));
        assertEquals(generic("Command 'boom' failed: kaboom"), c.request("{\"execute\": \"boom\"}"));
        assertEquals(error("DeviceNotFound", "Device 'disk9' not found"), c.request("{\"execute\": \"missing-device\"}"));
        assertTrue(c.request("{\"execute\": \"nan\"}").startsWith("{\"error\": {\"class\": \"GenericError\", "
                + "\"desc\": \"Command 'nan' failed: "));
        assertEquals(generic("Parameter 's' is missing"), c.request("{\"execute\": \"typed\"}"));
        assertEquals(generic("Invalid parameter type for 's', expected: string"),
                c.request("{\"execute\": \"typed\", \"arguments\": {\"s\": 1}}"));
        assertEquals(generic("Parameter 'n' expects int32_t"),
                c.request("{\"execute\": \"typed\", \"arguments\": {\"s\": \"x\", \"n\": 4294967296}}"));
        assertEquals(generic("Parameter 'extra' is unexpected"),
                c.request("{\"execute\": \"typed\", \"arguments\": {\"s\": \"x\", \"extra\": 1}}"));
        assertEquals("{\"return\": \"x3\"}", c.request("{\"execute\": \"typed\", \"arguments\": {\"s\": \"x\", \"n\": 3}}"));
        // the connection survived all of it
        assertTrue(c.request("{\"execute\": \"query-version\"}").startsWith("{\"return\": "));
    }

    @Test
    void idIsEchoedVerbatim() throws Exception {
        QmpTestClient c = negotiated();
        assertEquals("{\"return\": {}, \"id\": 42}", c.request("{\"execute\": \"nothing\", \"id\": 42}"));
        assertEquals("{\"return\": {}, \"id\": 1.50e3}", c.request("{\"id\": 1.50e3, \"execute\": \"nothing\"}"));
        assertEquals("{\"return\": {}, \"id\": \"libvirt-7\"}",
                c.request("{\"execute\": \"nothing\", \"id\": \"libvirt-7\"}"));
        assertEquals("{\"return\": {}, \"id\": {\"a\": [1, {\"b\": null}], \"c\": \"d\"}}",
                c.request("{\"execute\": \"nothing\", \"id\": {\"a\": [1, {\"b\": null}], \"c\": \"d\"}}"));
        assertEquals("{\"return\": {}, \"id\": null}", c.request("{\"execute\": \"nothing\", \"id\": null}"));
        // errors carry it too, first as QEMU writes them
        assertEquals("{\"id\": 9, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command xyz has not been"
                + " found\"}}", c.request("{\"execute\": \"xyz\", \"id\": 9}"));
        assertEquals("{\"id\": [\"x\"], \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member"
                + " 'execute'\"}}", c.request("{\"id\": [\"x\"]}"));
        assertEquals("{\"id\": \"s\", \"error\": {\"class\": \"GenericError\", \"desc\": \"Command 'boom' failed:"
                + " kaboom\"}}", c.request("{\"execute\": \"boom\", \"id\": \"s\"}"));
    }

    @Test
    void severalClientsOneAfterAnother() throws Exception {
        for (int i = 0; i < 4; i++) {
            try (QmpTestClient c = QmpTestClient.negotiated(socket)) {
                assertEquals("{\"return\": {}, \"id\": " + i + "}",
                        c.request("{\"execute\": \"nothing\", \"id\": " + i + "}"));
            }
        }
    }

    @Test
    void secondClientWaitsForTheFirst() throws Exception {
        QmpTestClient first = QmpTestClient.negotiated(socket);
        QmpTestClient second = connect();
        assertNull(second.pollLine(300), "one client at a time: no greeting yet");
        first.close();
        assertEquals(GREETING, second.nextLine());
        assertEquals("{\"return\": {}}", second.request("{\"execute\": \"qmp_capabilities\"}"));
    }

    @Test
    void repliesAreFlushedWhenTheClientHalfCloses() throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(("{\"execute\": \"qmp_capabilities\"}{\"execute\": \"nothing\", \"id\": 1}")
                    .getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            StringBuilder all = new StringBuilder();
            ByteBuffer in = ByteBuffer.allocate(4096);
            while (ch.read(in) >= 0) {
                in.flip();
                all.append(StandardCharsets.UTF_8.decode(in));
                in.clear();
            }
            assertEquals(GREETING + "\r\n{\"return\": {}}\r\n{\"return\": {}, \"id\": 1}\r\n", all.toString());
        }
    }

    @Test
    void eventsOnlyAfterNegotiationWithTimestamp() throws Exception {
        QmpTestClient c = connect();
        assertEquals(GREETING, c.nextLine());
        server.emit("STOP", null); // not negotiated: dropped
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"qmp_capabilities\"}"));
        assertTrue(c.request("{\"execute\": \"query-version\"}").startsWith("{\"return\": "));

        long before = System.currentTimeMillis() / 1000;
        server.emit("STOP", null);
        JsonObject data = new JsonObject();
        data.addProperty("guest", false);
        data.addProperty("reason", "host-qmp-quit");
        server.emit("SHUTDOWN", data);
        long after = System.currentTimeMillis() / 1000;

        String stop = c.nextLine();
        assertTrue(Pattern.matches("\\{\"timestamp\": \\{\"seconds\": \\d+, \"microseconds\": \\d{1,6}}, \"event\":"
                + " \"STOP\"}", stop), stop);
        String shutdown = c.nextLine();
        assertTrue(Pattern.matches("\\{\"timestamp\": \\{\"seconds\": \\d+, \"microseconds\": \\d{1,6}}, \"event\":"
                + " \"SHUTDOWN\", \"data\": \\{\"guest\": false, \"reason\": \"host-qmp-quit\"}}", shutdown), shutdown);
        long seconds = JsonParser.parseString(stop).getAsJsonObject()
                .getAsJsonObject("timestamp").get("seconds").getAsLong();
        assertTrue(seconds >= before && seconds <= after, seconds + " not in [" + before + ", " + after + "]");
        // replies and events share one ordered path
        assertEquals("{\"return\": {}, \"id\": 5}", c.request("{\"execute\": \"nothing\", \"id\": 5}"));
    }

    @Test
    void clientThatDoesNotReadIsDroppedWithoutBlockingEmit() throws Exception {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.write(ByteBuffer.wrap("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-version\"}"
                .getBytes(StandardCharsets.UTF_8)));
        // Read exactly greeting + two replies, then never read again.
        int lines = 0;
        ByteBuffer one = ByteBuffer.allocate(1);
        while (lines < 3 && ch.read(one) > 0) {
            if (one.get(0) == '\n') {
                lines++;
            }
            one.clear();
        }
        assertEquals(3, lines);
        assertTrue(server.hasClient());

        JsonObject data = new JsonObject();
        data.addProperty("device", "x".repeat(100));
        long worst = 0;
        long start = System.nanoTime();
        for (int i = 0; i < 100_000; i++) {
            long t = System.nanoTime();
            server.emit("DEVICE_DELETED", data);
            worst = Math.max(worst, System.nanoTime() - t);
        }
        long total = System.nanoTime() - start;
        assertTrue(total < 5_000_000_000L, "100000 emits took " + total / 1_000_000 + " ms");
        assertTrue(worst < 1_000_000_000L, "one emit took " + worst / 1_000_000 + " ms");

        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.hasClient() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertFalse(server.hasClient(), "the client that does not read was disconnected");
        // what was written before the drop can still be read, then EOF
        ByteBuffer rest = ByteBuffer.allocate(1 << 16);
        while (ch.read(rest) >= 0) {
            rest.clear();
        }
        ch.close();
        // and the server takes the next client
        try (QmpTestClient next = QmpTestClient.negotiated(socket)) {
            assertEquals("{\"return\": {}}", next.request("{\"execute\": \"nothing\"}"));
        }
    }

    @Test
    void messagesSplitAcrossWritesAndSeveralInOneWrite() throws Exception {
        QmpTestClient c = negotiated();
        byte[] request = "{\"execute\": \"echo\", \"arguments\": {\"s\": \"}{][\\\"\"}, \"id\": \"a}\"}\r\n"
                .getBytes(StandardCharsets.UTF_8);
        for (byte b : request) {
            c.send(new byte[]{b});
        }
        assertEquals("{\"return\": {\"s\": \"}{][\\\"\"}, \"id\": \"a}\"}", c.nextLine());
        c.send("{\"execute\":\"nothing\",\"id\":1}{\"execute\":\"nothing\",\"id\":2}  [3]\t4\n\"five\"{\"execute\":"
                + "\"nothing\",\"id\":6}");
        assertEquals("{\"return\": {}, \"id\": 1}", c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 2}", c.nextLine());
        assertEquals(generic("QMP input must be a JSON object"), c.nextLine());
        assertEquals(generic("QMP input must be a JSON object"), c.nextLine());
        assertEquals(generic("QMP input must be a JSON object"), c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 6}", c.nextLine());
        assertNull(c.pollLine(100));
    }

    /**
     * Thousands of requests in one write: the reader parses them 8 at a time (Limits.maxPending), answering each
     * group before parsing on, and every one is answered, in order.
     */
    @Test
    void aFloodOfRequestsIsAnsweredInOrderAFewAtATime() throws Exception {
        QmpTestClient c = negotiated();
        StringBuilder flood = new StringBuilder();
        int n = 3000;
        for (int i = 0; i < n; i++) {
            flood.append("{\"execute\":\"nothing\",\"id\":").append(i).append('}');
            if (i % 7 == 3) {
                flood.append("]"); // an error reply in between
            }
        }
        c.send(flood.toString());
        for (int i = 0; i < n; i++) {
            assertEquals("{\"return\": {}, \"id\": " + i + "}", c.nextLine());
            if (i % 7 == 3) {
                assertTrue(c.nextLine().startsWith("{\"error\": {\"class\": \"GenericError\""));
            }
        }
        assertNull(c.pollLine(100));
    }

    @Test
    void limitsAnswerAndResynchronise() throws Exception {
        QmpTestClient c = negotiated();
        // over 1 MiB: one error, the rest of the message is skipped, the next one is served
        c.send("{\"execute\": \"echo\", \"arguments\": {\"s\": \"" + "a".repeat(2 << 20) + "\"}}");
        assertEquals(generic("JSON token size limit exceeded"), c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 1}", c.request("{\"execute\": \"nothing\", \"id\": 1}"));
        // deeper than 1024
        c.send("[".repeat(5000) + "]".repeat(5000));
        assertEquals(generic("JSON nesting depth limit exceeded"), c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 2}", c.request("{\"execute\": \"nothing\", \"id\": 2}"));
        // 1000 levels are fine
        String deep = "[".repeat(1000) + "]".repeat(1000);
        assertEquals("{\"return\": {\"d\": " + deep + "}}",
                c.request("{\"execute\": \"echo\", \"arguments\": {\"d\": " + deep + "}}"));
        // a lexical error (here 0xFF, qmp-spec's advice to clients) resets a half-sent request
        c.send("{\"execute\": \"noth");
        c.send(new byte[]{(byte) 0xff});
        assertEquals(generic("JSON parse error, stray '\\\\xff'"), c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 3}", c.request("{\"execute\": \"nothing\", \"id\": 3}"));
        // a raw newline inside a string is a lexical error too
        c.send("{\"execute\": \"nothing\", \"id\": \"x\n");
        assertEquals(generic("JSON parse error, stray '\\\\x0a'"), c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 4}", c.request("{\"execute\": \"nothing\", \"id\": 4}"));
    }

    @Test
    void staleSocketIsReplacedOtherFilesAreNot() throws Exception {
        server.close();
        // a socket file left behind by a dead process
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        server = new QmpServer(socket, new QmpVersion(1, 2, 3, "mesovirt-test"), testCommands());
        server.start();
        try (QmpTestClient c = QmpTestClient.connect(socket)) {
            assertEquals(GREETING, c.nextLine());
        }
        server.close();

        Files.writeString(socket, "not a socket");
        QmpServer refused = new QmpServer(socket, new QmpVersion(1, 2, 3, "x"), new QmpCommands());
        UncheckedIOException e = assertThrows(UncheckedIOException.class, refused::start);
        assertTrue(e.getMessage().contains("not a socket"), e.getMessage());
        assertEquals("not a socket", Files.readString(socket));
        Files.delete(socket);
        server = new QmpServer(socket, new QmpVersion(1, 2, 3, "mesovirt-test"), testCommands());
        server.start();
        assertThrows(IllegalStateException.class, server::start);
    }

    @Test
    void closeDisconnectsTheClientAndStopsItsThreads() throws Exception {
        QmpTestClient c = negotiated();
        server.close();
        c.awaitEof();
        assertFalse(Files.exists(socket));
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (qmpThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, qmpThreads(), "qmp-* threads left");
        server.emit("STOP", null); // harmless after close
    }

    private static long qmpThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("qmp-") && !t.getName().startsWith("qmp-test")).count();
    }

    @Test
    void registryRejectsBuiltInAndDuplicateNames() {
        QmpCommands commands = new QmpCommands().register("stop", a -> null);
        assertThrows(IllegalArgumentException.class, () -> commands.register("stop", a -> null));
        assertThrows(IllegalArgumentException.class, () -> commands.register("query-commands", a -> null));
        assertThrows(IllegalArgumentException.class, () -> commands.register(" ", a -> null));
        assertThrows(IllegalArgumentException.class, () -> new QmpException("NoSuchClass", "x"));
    }
}
