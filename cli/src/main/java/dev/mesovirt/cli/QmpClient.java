package dev.mesovirt.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code mesovirt-qmp SOCKET STEP...}: a small QMP client for scripts (Mesovirt's or QEMU's monitor). It reads the
 * greeting, negotiates capabilities, then runs each step in order and prints every message it receives, one JSON
 * object per line, on stdout:
 * <ul>
 *   <li>{@code {"execute": ...}}: sent as is; the step ends with its reply (events that arrive first are printed too);
 *   <li>a bare command name such as {@code query-status}: the same as {@code {"execute": "query-status"}};
 *   <li>{@code sleep:SECONDS}: waits, printing events that arrive;
 *   <li>{@code event:NAME[:SECONDS]}: waits for event NAME (default 30 s), printing it and anything before it;
 *       an event NAME already received with an earlier step's reply counts.
 * </ul>
 * Exit status 0 when every step got a {@code return} (or its event), 1 when a reply was an error or an event did not
 * come, 2 on a usage or connection problem.
 */
public final class QmpClient {
    private static final int GREETING_TIMEOUT_S = 60;
    private final BlockingQueue<JsonObject> incoming = new LinkedBlockingQueue<>();
    private final PrintStream out;
    private final OutputStream socketOut;
    private final Deque<String> pendingErrors = new ArrayDeque<>();
    /** Event names received so far: event:NAME also accepts one that came with an earlier step's reply. */
    private final java.util.Set<String> seenEvents = new java.util.HashSet<>();

    private QmpClient(SocketChannel channel, PrintStream out) {
        this.out = out;
        this.socketOut = Channels.newOutputStream(channel);
        BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                StandardCharsets.UTF_8));
        Thread reader = new Thread(() -> {
            try {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.isBlank()) {
                        continue;
                    }
                    try {
                        JsonElement e = JsonParser.parseString(line);
                        if (e.isJsonObject()) {
                            incoming.add(e.getAsJsonObject());
                        }
                    } catch (JsonSyntaxException ex) {
                        pendingErrors.add(line);
                    }
                }
            } catch (IOException ignored) {
                // the server went away: the waiting step times out or sees the end marker
            }
            incoming.add(END);
        }, "qmp-client-reader");
        reader.setDaemon(true);
        reader.start();
    }

    private static final JsonObject END = new JsonObject();

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length < 1 || args[0].equals("-h") || args[0].equals("--help")) {
            err.println("usage: mesovirt-qmp SOCKET [STEP...]   STEP: a JSON command, a command name, sleep:SECONDS or"
                    + " event:NAME[:SECONDS]");
            return 2;
        }
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(Path.of(args[0])));
        } catch (IOException | RuntimeException e) {
            err.println("mesovirt-qmp: cannot connect to " + args[0] + ": " + e.getMessage());
            return 2;
        }
        try (channel) {
            QmpClient client = new QmpClient(channel, out);
            // Generous: a VMM's first client waits for its QMP code to load and warm up, which under software
            // emulation (the CI's emulated KVM hosts, loaded) has taken more than 10 s.
            JsonObject greeting = client.next(GREETING_TIMEOUT_S);
            if (greeting == null || !greeting.has("QMP")) {
                err.println("mesovirt-qmp: no QMP greeting from " + args[0] + " within " + GREETING_TIMEOUT_S + " s");
                return 2;
            }
            client.print(greeting);
            int rc = client.command("{\"execute\":\"qmp_capabilities\"}") ? 0 : 1;
            for (int i = 1; i < args.length; i++) {
                if (!client.step(args[i])) {
                    rc = 1;
                }
            }
            return rc;
        } catch (IOException e) {
            err.println("mesovirt-qmp: " + e.getMessage());
            return 2;
        }
    }

    private boolean step(String step) throws IOException {
        if (step.startsWith("sleep:")) {
            long until = System.nanoTime() + (long) (Double.parseDouble(step.substring(6)) * 1e9);
            for (long left; (left = until - System.nanoTime()) > 0; ) {
                JsonObject m = poll(left);
                if (m != null && m != END) {
                    print(m);
                }
            }
            return true;
        }
        if (step.startsWith("event:")) {
            String[] parts = step.split(":");
            if (seenEvents.remove(parts[1])) {
                return true;
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(parts.length > 2 ? Long.parseLong(parts[2]) : 30);
            for (long left; (left = until - System.nanoTime()) > 0; ) {
                JsonObject m = poll(left);
                if (m == END) {
                    break;
                }
                if (m != null) {
                    print(m);
                    if (m.has("event") && m.get("event").getAsString().equals(parts[1])) {
                        seenEvents.remove(parts[1]);
                        return true;
                    }
                }
            }
            out.println("{\"mesovirt-qmp\": \"no " + parts[1] + " event\"}");
            return false;
        }
        String json = step.trim().startsWith("{") ? step : "{\"execute\":\"" + step + "\"}";
        return command(json);
    }

    /** Sends one command and prints messages up to and including its reply; true if the reply is a return. */
    private boolean command(String json) throws IOException {
        socketOut.write((json + "\n").getBytes(StandardCharsets.UTF_8));
        socketOut.flush();
        while (true) {
            JsonObject m = next(60);
            if (m == null || m == END) {
                out.println("{\"mesovirt-qmp\": \"no reply to " + json.replace("\"", "'") + "\"}");
                return false;
            }
            print(m);
            if (m.has("return")) {
                return true;
            }
            if (m.has("error")) {
                return false;
            }
        }
    }

    private JsonObject next(long seconds) {
        return poll(TimeUnit.SECONDS.toNanos(seconds));
    }

    private JsonObject poll(long nanos) {
        try {
            return incoming.poll(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return END;
        }
    }

    private void print(JsonObject m) {
        while (!pendingErrors.isEmpty()) {
            out.println("{\"mesovirt-qmp\": \"not JSON: " + pendingErrors.poll().replace("\"", "'") + "\"}");
        }
        if (m.has("event") && m.get("event").isJsonPrimitive()) {
            seenEvents.add(m.get("event").getAsString());
        }
        out.println(m);
        out.flush();
    }
}
