package dev.mesovirt.vmm.vhost.user;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.sys.UnixSocket;
import dev.mesovirt.vmm.vhost.VhostException;
import dev.mesovirt.vmm.vhost.VhostMemoryRegion;
import dev.mesovirt.vmm.vhost.VringAddress;
import java.io.File;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The vhost-user front-end reading a hostile back-end over a real socket pair: what {@link VhostUserCodecFuzzTarget}
 * leaves out, the framing (headers, payloads split across reads, reads cut short by descriptors the back-end sends
 * along, a reply to another request, the wrong flags, an announced size beyond any message, the end of the stream
 * anywhere, silence). The input is what the back-end has written (in chunks, some carrying descriptors) before the
 * front-end makes a sequence of requests, and whether it then ends its stream (shutdown: the requests still reach
 * its socket) or stays silent.
 *
 * <p>Every request must return or throw {@link VhostException} with a message, never anything else and never hang
 * (Jazzer's per-input timeout); a silent back-end gives the front-end's own time limit. Once a request has failed,
 * the connection is unusable: every later request fails with {@link VhostException}. The descriptors the
 * back-end sent are closed (this process has as many open descriptors after the input as before).
 */
class VhostUserFrontendFuzzTarget {
    /**
     * The front-end's time limit with a back-end that stays silent: it costs this much once per input (the connection
     * is then closed), and a fifth of the corpus ends up silent, so it is short. A pause of this JVM longer than this
     * between the limit's start and the socket's poll can cut off a reply that is already there: the input then ends
     * in a VhostException where it would not, which the target accepts.
     */
    private static final Duration SILENT_LIMIT = Duration.ofMillis(2);
    /** A back-end that ends its stream: what it wrote is in the socket, then the end; nothing waits for this. */
    private static final Duration LIMIT = Duration.ofSeconds(5);
    private static EventFd kick;
    private static EventFd call;
    /** What the back-end passes along with its bytes (copies of it arrive: the front-end must close them). */
    private static EventFd passed;

    @BeforeAll
    static void open() {
        kick = new EventFd(true);
        call = new EventFd(true);
        passed = new EventFd(true);
    }

    @AfterAll
    static void close() {
        kick.close();
        call.close();
        passed.close();
    }

    private static int openDescriptors() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    @FuzzTest(maxDuration = "5s")
    void replies(FuzzedDataProvider data) {
        int before = openDescriptors();
        boolean silent = data.consumeInt(0, 63) == 0;
        UnixSocket[] pair = UnixSocket.pair();
        UnixSocket backend = pair[1];
        VhostUserFrontend frontend = new VhostUserFrontend("fuzz", pair[0], silent ? SILENT_LIMIT : LIMIT);
        try {
            int chunks = data.consumeInt(0, 8);
            for (int i = 0; i < chunks && data.remainingBytes() > 0; i++) {
                byte[] bytes = data.consumeBytes(data.consumeInt(1, 64));
                int fds = bytes.length == 0 ? 0 : data.consumeInt(0, 2);
                int[] rights = new int[fds];
                java.util.Arrays.fill(rights, passed.fd());
                assertTrue(backend.send(bytes, rights));
            }
            byte[] rest = data.consumeBytes(data.consumeInt(0, 512));
            assertTrue(backend.send(rest));
            if (!silent) {
                backend.shutdownOutput(); // the end of its stream; the requests still go into its socket
            }
            requests(frontend, data);
        } finally {
            frontend.close();
            backend.close();
        }
        assertEquals(before, openDescriptors(), "descriptors leaked (the back-end's, or the socket's)");
    }

    /** Requests chosen by the input, each answered or refused; after the first failure, all fail at once. */
    private static void requests(VhostUserFrontend frontend, FuzzedDataProvider data) {
        String failed = null;
        int steps = 0;
        while (data.remainingBytes() > 0 && steps++ < 32) {
            int op = data.consumeInt(0, 13);
            try {
                if (request(frontend, op, data) && failed != null) {
                    fail("request " + op + " succeeded on a connection that failed (" + failed + ")");
                }
            } catch (VhostException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a VhostException without a message");
                failed = e.getMessage();
            }
        }
    }

    /** Makes request {@code op}; false when it made none (no configuration space, or the connection closed). */
    private static boolean request(VhostUserFrontend f, int op, FuzzedDataProvider data) throws VhostException {
        int queue = data.consumeInt(0, 3);
        switch (op) {
            case 0 -> f.negotiate(data.consumeInt(0, 4));
            case 1 -> f.getFeatures();
            case 2 -> f.setFeatures(data.consumeLong());
            case 3 -> f.setOwner();
            case 4 -> {
                List<VhostMemoryRegion> regions = new ArrayList<>();
                for (int i = data.consumeInt(1, 2); i > 0; i--) {
                    regions.add(new VhostMemoryRegion(i << 20, 1 << 20, 0x7f00_0000_0000L + (i << 20), 0,
                            OptionalInt.of(passed.fd())));
                }
                f.setMemTable(regions);
            }
            case 5 -> f.setVringNum(queue, data.consumeInt(0, 1024));
            case 6 -> f.setVringAddr(new VringAddress(queue, 0, 0x1000, 0x2000, 0x3000, 0x7f00_0000_1000L,
                    0x7f00_0000_2000L, 0x7f00_0000_3000L, 0));
            case 7 -> f.setVringBase(queue, data.consumeInt(0, 0xffff));
            case 8 -> f.getVringBase(queue);
            case 9 -> f.setVringKick(queue, data.consumeBoolean() ? kick : null);
            case 10 -> f.setVringCall(queue, data.consumeBoolean() ? call : null);
            case 11 -> f.setVringEnable(queue, data.consumeBoolean());
            case 12 -> {
                // The device asks only when the back-end offered it (else the caller's own IllegalStateException).
                if (!f.hasProtocolFeature(VhostUserCodec.PROTOCOL_F_CONFIG)) {
                    return false;
                }
                f.getConfig(data.consumeInt(0, 0x100), data.consumeInt(0, VhostUserCodec.MAX_CONFIG_SIZE));
            }
            default -> {
                f.close();
                return false;
            }
        }
        return true;
    }
}
