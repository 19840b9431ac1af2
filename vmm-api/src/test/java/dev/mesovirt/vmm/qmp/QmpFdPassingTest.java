package dev.mesovirt.vmm.qmp;

import static dev.mesovirt.vmm.qmp.NativeQmpClient.openCount;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * getfd and closefd over a real socket with SCM_RIGHTS: the monitor's descriptor table, QEMU's errors, which request
 * the descriptors belong to, and that none is ever leaked. Descriptors are of temporary files, so /proc/self/fd
 * tells exactly how many copies of each are open.
 */
@Timeout(60)
class QmpFdPassingTest {
    private static final String OK = "{\"return\": {}}";

    @TempDir
    Path dir;
    private Path socket;
    private QmpServer server;
    private final List<Integer> ours = new ArrayList<>();
    private final List<NativeQmpClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        socket = dir.resolve("qmp.sock");
        server = new QmpServer(socket, new QmpVersion(7, 2, 0, "fd-test"), QmpServerTest.testCommands());
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (NativeQmpClient c : clients) {
            c.close();
        }
        server.close();
        ours.forEach(Fds::closeQuietly);
        assertEquals(0, server.unexpectedErrors(), "no exception escaped the server's threads");
    }

    private NativeQmpClient negotiated() throws InterruptedException {
        NativeQmpClient c = NativeQmpClient.negotiated(socket);
        clients.add(c);
        return c;
    }

    /** A new temporary file and our descriptor of it. */
    private record Opened(Path file, int fd) {
    }

    private Opened open(String name, int flags) throws IOException {
        Path file = Files.createFile(dir.resolve(name));
        int fd = Sys.open(file.toString(), LibC.O_RDONLY | flags);
        ours.add(fd);
        return new Opened(file, fd);
    }

    private static String getfd(String name) {
        return "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"" + name + "\"}}";
    }

    private static String closefd(String name) {
        return "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": \"" + name + "\"}}";
    }

    private static String generic(String desc) {
        return "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" + desc + "\"}}";
    }

    /** Waits up to 5 s for the server's side to settle (it closes descriptors after the reply is queued). */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    private static BooleanSupplier copies(Path file, long n) {
        return () -> {
            try {
                return openCount(file) == n;
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        };
    }

    @Test
    void getfdKeepsTheDescriptorThatCameWithItAndClosefdClosesIt() throws Exception {
        NativeQmpClient c = negotiated();
        Opened first = open("first", 0);
        assertEquals(OK, c.request(getfd("tap0"), first.fd()));
        assertEquals(Set.of("tap0"), server.fds().names());
        int kept = server.fds().peek("tap0");
        assertNotEquals(first.fd(), kept, "the server has its own copy");
        assertEquals(2, openCount(first.file()));
        assertTrue(Fds.isCloseOnExec(kept), "received with MSG_CMSG_CLOEXEC");

        // The same name again replaces the descriptor and closes the old one; O_NONBLOCK is cleared as QEMU does.
        Opened second = open("second", LibC.O_NONBLOCK);
        assertTrue(Fds.isNonBlocking(second.fd()));
        assertEquals(OK, c.request(getfd("tap0"), second.fd()));
        assertEquals(1, openCount(first.file()), "the replaced descriptor was closed");
        assertEquals(2, openCount(second.file()));
        assertFalse(Fds.isNonBlocking(server.fds().peek("tap0")));
        assertFalse(Fds.isNonBlocking(second.fd()), "status flags belong to the open file, shared with the sender");

        assertEquals(OK, c.request(closefd("tap0")));
        assertEquals(1, openCount(second.file()));
        assertTrue(server.fds().names().isEmpty());
        assertEquals(generic("File descriptor named 'tap0' not found"), c.request(closefd("tap0")));
    }

    @Test
    void errorsAreQemusAndCloseWhatCameWithThem() throws Exception {
        NativeQmpClient c = NativeQmpClient.connect(socket);
        clients.add(c);
        assertTrue(c.nextLine().startsWith("{\"QMP\": "));
        Opened f = open("f", 0);
        // before negotiation getfd does not exist yet, and what came with it is closed
        assertEquals("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation"
                + " with 'qmp_capabilities'\"}}", c.request(getfd("x"), f.fd()));
        await(copies(f.file(), 1), "closed after a refused getfd");
        assertEquals(OK, c.request("{\"execute\": \"qmp_capabilities\"}"));

        assertEquals(generic("No file descriptor supplied via SCM_RIGHTS"), c.request(getfd("x")));
        assertEquals(generic("Parameter 'fdname' expects a name not starting with a digit"),
                c.request(getfd("1x"), f.fd()));
        assertEquals(generic("Parameter 'fdname' is missing"),
                c.request("{\"execute\": \"getfd\", \"arguments\": {}}", f.fd()));
        assertEquals(generic("Parameter 'x' is unexpected"),
                c.request("{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"a\", \"x\": 1}}", f.fd()));
        assertEquals(generic("Invalid parameter type for 'fdname', expected: string"),
                c.request("{\"execute\": \"getfd\", \"arguments\": {\"fdname\": 5}}", f.fd()));
        assertEquals(generic("Parameter 'fdname' is missing"), c.request("{\"execute\": \"closefd\"}"));
        assertEquals(generic("File descriptor named 'nope' not found"), c.request(closefd("nope")));
        await(copies(f.file(), 1), "every refused descriptor was closed");
        assertTrue(server.fds().names().isEmpty());

        QmpException e = assertThrows(QmpException.class, () -> server.takeFd("nope"));
        assertEquals("File descriptor named 'nope' has not been found", e.desc());
    }

    @Test
    void descriptorsGoWithTheRequestTheyCameWithAndOnlyGetfdKeepsThem() throws Exception {
        NativeQmpClient c = negotiated();
        Opened f = open("f", 0);
        // with another command: closed once it is answered, not kept for a later getfd
        assertTrue(c.request("{\"execute\": \"query-version\"}", f.fd()).startsWith("{\"return\": {\"qemu\""));
        await(copies(f.file(), 1), "a descriptor sent with query-version is closed");
        assertEquals(generic("No file descriptor supplied via SCM_RIGHTS"), c.request(getfd("late")));
        // with garbage, or with a request that fails: closed too
        assertTrue(c.request("{\"execute\": bad}", f.fd()).contains("JSON parse error"));
        assertTrue(c.request("{\"execute\": \"boom\"}", f.fd()).contains("kaboom"));
        await(copies(f.file(), 1), "descriptors sent with errors are closed");

        // several requests in one send: the descriptors belong to the last (the kernel cannot say more)
        c.send("{\"execute\": \"nothing\", \"id\": 1}\n" + getfd("last") + "\n", f.fd());
        assertEquals("{\"return\": {}, \"id\": 1}", c.nextLine());
        assertEquals(OK, c.nextLine());
        c.send(getfd("first") + "\n{\"execute\": \"nothing\", \"id\": 2}\n", f.fd());
        assertEquals(generic("No file descriptor supplied via SCM_RIGHTS"), c.nextLine());
        assertEquals("{\"return\": {}, \"id\": 2}", c.nextLine());
        assertEquals(Set.of("last"), server.fds().names());

        // a request split over sends, the descriptor on its first part
        c.send("{\"execute\": \"getfd\", ", f.fd());
        assertEquals(null, c.pollLine(100));
        assertEquals(OK, c.request("\"arguments\": {\"fdname\": \"split\"}}"));
        // ... also when a complete request comes before it in the same send: that one does not get it
        c.send("{\"execute\": \"nothing\", \"id\": 3}\n{\"execute\": \"getfd\", ", f.fd());
        assertEquals("{\"return\": {}, \"id\": 3}", c.nextLine());
        assertEquals(OK, c.request("\"arguments\": {\"fdname\": \"split2\"}}"));
        assertEquals(OK, c.request(closefd("split2")));
        // QEMU's Python client: one space with the descriptor, then getfd on its own
        Opened g = open("g", 0);
        c.send(" ", f.fd());
        c.send(" ", g.fd()); // a newer descriptor replaces one no request has taken yet
        await(copies(f.file(), 3), "the replaced descriptor was closed (last and split remain)");
        assertEquals(OK, c.request(getfd("python")));
        assertEquals(2, openCount(g.file()));
        assertEquals(Set.of("last", "split", "python"), server.fds().names());
        assertEquals(3, openCount(f.file()));

        // waiting descriptors go when the client goes
        c.send(" ", f.fd());
        await(copies(f.file(), 4), "received");
        c.close();
        clients.remove(c);
        await(copies(f.file(), 3), "a descriptor no request took is closed with the connection");
    }

    @Test
    void theTableOutlivesConnectionsAndClosesWithTheServer() throws Exception {
        Opened f = open("f", 0);
        try (NativeQmpClient c = NativeQmpClient.negotiated(socket)) {
            assertEquals(OK, c.request(getfd("kept"), f.fd()));
            assertEquals(OK, c.request(getfd("taken"), f.fd()));
        }
        NativeQmpClient next = negotiated();
        assertEquals(Set.of("kept", "taken"), server.fds().names());
        int taken = server.takeFd("taken");
        assertEquals(Set.of("kept"), server.fds().names());
        assertEquals(3, openCount(f.file()), "ours, kept, taken");
        Fds.closeQuietly(taken); // the caller owns a taken descriptor
        assertEquals(OK, next.request(getfd("more"), f.fd()));
        assertEquals(3, openCount(f.file()));
        server.close();
        assertEquals(1, openCount(f.file()), "the server's close closes its table");
        assertTrue(server.fds().names().isEmpty());
    }

    @Test
    void thousandHostileMessagesWithDescriptorsLeakNone() throws Exception {
        // warm up (classes loaded, JNA ready), then count with no server at all, and again after closing the next
        try (NativeQmpClient c = NativeQmpClient.negotiated(socket)) {
            assertEquals(OK, c.request(getfd("warm"), 0));
            assertEquals(OK, c.request(closefd("warm")));
        }
        server.close();
        Opened[] files = new Opened[4];
        for (int i = 0; i < files.length; i++) {
            files[i] = open("pool" + i, 0);
        }
        Map<Integer, String> before = NativeQmpClient.openDescriptors();
        server = new QmpServer(socket, new QmpVersion(7, 2, 0, "fd-test"), QmpServerTest.testCommands());
        server.start();
        Random random = new Random(0xfd5_eedL);
        int replies = 0;
        try (NativeQmpClient c = NativeQmpClient.negotiated(socket)) {
            for (int i = 0; i < 1000; i++) {
                int[] fds = randomFds(random, files);
                byte[] message = message(random);
                c.send(message.length == 0 && fds.length > 0 ? new byte[]{' '} : message, fds);
                for (String line; (line = c.pollLine(0)) != null; replies++) {
                    checked(line);
                }
            }
            c.send(new byte[]{(byte) 0xff});
            c.send(getfd("final").replace("}}", "}, \"id\": \"final\"}") + "\n", files[0].fd());
            JsonObject last;
            do {
                last = checked(c.nextLine());
                replies++;
            } while (!last.has("id") || !last.get("id").getAsString().equals("final"));
            assertTrue(last.has("return"), last.toString());
            assertTrue(server.fds().names().contains("final"));
        }
        assertTrue(replies > 500, replies + " replies");
        server.close();
        for (Opened f : files) {
            assertEquals(1, openCount(f.file()), f.file() + ": only our own descriptor is left");
        }
        // Every descriptor open now was open before, to the same file (the server closes its own after replying).
        Map<Integer, String> left = NativeQmpClient.openedSince(before);
        for (long deadline = System.nanoTime() + 5_000_000_000L; !left.isEmpty() && System.nanoTime() < deadline; ) {
            Thread.sleep(5);
            left = NativeQmpClient.openedSince(before);
        }
        assertEquals(Map.of(), left, "descriptors opened since before the hostile client and still open");
    }

    private static int[] randomFds(Random random, Opened[] files) {
        int n = switch (random.nextInt(10)) {
            case 0, 1, 2, 3 -> 0;
            case 4, 5, 6, 7 -> 1;
            case 8 -> 2 + random.nextInt(3);
            default -> 17 + random.nextInt(4); // more than the server takes: the kernel drops the rest
        };
        int[] fds = new int[n];
        for (int i = 0; i < n; i++) {
            fds[i] = files[random.nextInt(files.length)].fd();
        }
        return fds;
    }

    private static byte[] message(Random random) {
        String name = "n" + random.nextInt(4);
        String valid = switch (random.nextInt(5)) {
            case 0, 1 -> getfd(name);
            case 2 -> closefd(name);
            case 3 -> "{\"execute\": \"query-version\"}";
            default -> "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"" + random.nextInt(10) + "x\"}}";
        };
        byte[] bytes = valid.getBytes(StandardCharsets.UTF_8);
        byte[] out = switch (random.nextInt(6)) {
            case 0 -> Arrays.copyOf(bytes, random.nextInt(bytes.length)); // truncated: glues onto the next
            case 1 -> {
                byte[] garbage = new byte[random.nextInt(60)];
                random.nextBytes(garbage);
                yield garbage;
            }
            case 2 -> new byte[0];
            default -> bytes;
        };
        int tail = random.nextInt(10);
        byte[] separator = tail < 7 ? new byte[]{'\n'} : tail < 9 ? new byte[0] : new byte[]{(byte) 0xff};
        byte[] message = Arrays.copyOf(out, out.length + separator.length);
        System.arraycopy(separator, 0, message, out.length, separator.length);
        return message;
    }

    private static JsonObject checked(String line) {
        assertNotEquals(NativeQmpClient.EOF, line, "the server hung up on the hostile client");
        JsonElement e = JsonParser.parseString(line);
        assertTrue(e.isJsonObject() && (e.getAsJsonObject().has("return") || e.getAsJsonObject().has("error")),
                line);
        JsonObject o = e.getAsJsonObject();
        if (o.has("error")) {
            assertNotNull(o.getAsJsonObject("error").get("desc"), line);
        }
        return o;
    }
}
