package dev.mesovirt.vmm.qmp;

import com.google.gson.JsonElement;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The machine's QMP commands and the names of the events it may emit. A {@link QmpServer} serves the commands
 * registered here plus its built-in ones ({@link #BUILT_IN}); registering may happen before or while it runs.
 *
 * <p>Handlers run on the connected client's reader thread, one command at a time: while one runs, that client's
 * next request waits (QEMU's monitor without OOB behaves the same), but events keep flowing. A handler must not
 * block for long (no waiting on the guest); start long work elsewhere and report it with an event.
 */
public final class QmpCommands {
    /** One QMP command. */
    @FunctionalInterface
    public interface Handler {
        /**
         * Runs the command. Returns the reply's "return" value, or null for {@code {}}. A QmpException becomes an
         * error reply; any RuntimeException becomes a GenericError reply (and is logged), never a lost client.
         */
        JsonElement handle(QmpArguments args) throws QmpException;
    }

    /**
     * Commands the server answers itself: negotiation, what it can tell from this registry and its version, and the
     * monitor's file descriptor table (getfd, closefd), which needs the descriptors that came with the request.
     */
    public static final Set<String> BUILT_IN =
            Set.of("qmp_capabilities", "query-commands", "query-events", "query-version", "getfd", "closefd");

    private final ConcurrentMap<String, Handler> handlers = new ConcurrentHashMap<>();
    private final Set<String> events = ConcurrentHashMap.newKeySet();

    /** Adds a command; throws IllegalArgumentException for a blank, built-in or already registered name. */
    public QmpCommands register(String name, Handler handler) {
        checkName(name);
        Objects.requireNonNull(handler, "handler");
        if (BUILT_IN.contains(name)) {
            throw new IllegalArgumentException("QMP command " + name + " is built in");
        }
        if (handlers.putIfAbsent(name, handler) != null) {
            throw new IllegalArgumentException("QMP command " + name + " is already registered");
        }
        return this;
    }

    /** Declares an event name for {@code query-events} (emitting does not require it). */
    public QmpCommands registerEvent(String name) {
        checkName(name);
        events.add(name);
        return this;
    }

    /** Built-in and registered command names, sorted. */
    public List<String> commandNames() {
        TreeSet<String> names = new TreeSet<>(BUILT_IN);
        names.addAll(handlers.keySet());
        return List.copyOf(names);
    }

    /** Declared event names, sorted. */
    public List<String> eventNames() {
        return List.copyOf(new TreeSet<>(events));
    }

    /** The handler of a registered (not built-in) command, or null. */
    Handler handler(String name) {
        return handlers.get(name);
    }

    private static void checkName(String name) {
        if (Objects.requireNonNull(name, "name").isBlank()) {
            throw new IllegalArgumentException("blank QMP name");
        }
    }
}
