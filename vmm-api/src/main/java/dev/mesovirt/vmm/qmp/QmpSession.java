package dev.mesovirt.vmm.qmp;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.mesovirt.vmm.sys.Fds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol state of one client connection: capabilities negotiation, request validation and command dispatch,
 * with QEMU's replies and error texts (qapi/qmp-dispatch.c, monitor/qmp.c, monitor/qmp-cmds-control.c), and the
 * monitor's descriptor commands getfd and closefd (monitor/fds.c). No socket I/O: each input frame becomes exactly
 * one reply line.
 */
final class QmpSession {
    private static final Logger LOG = LoggerFactory.getLogger(QmpSession.class);

    /** QEMU's QMPCapability enum; none is offered (no OOB: commands run one at a time per client). */
    private static final Set<String> KNOWN_CAPABILITIES = Set.of("oob");

    /**
     * A reply to send.
     *
     * @param line          the serialized reply, CR LF terminated
     * @param enablesEvents whether this reply completes capabilities negotiation: events may follow it
     */
    record Reply(byte[] line, boolean enablesEvents) {
    }

    private final QmpCommands commands;
    private final QmpVersion version;
    private final int maxDepth;
    private final QmpFdTable fds;
    private final Consumer<Throwable> unexpected;
    private boolean negotiated;

    /**
     * @param fds        the monitor's descriptor table, for getfd and closefd
     * @param unexpected told of our own bugs (exceptions other than a handler's), after they are logged
     */
    QmpSession(QmpCommands commands, QmpVersion version, int maxDepth, QmpFdTable fds,
            Consumer<Throwable> unexpected) {
        this.commands = commands;
        this.version = version;
        this.maxDepth = maxDepth;
        this.fds = fds;
        this.unexpected = unexpected;
    }

    /** {"QMP": {"version": {...}, "capabilities": []}}. */
    byte[] greeting() {
        JsonObject qmp = new JsonObject();
        qmp.add("version", version.toJson());
        qmp.add("capabilities", new JsonArray());
        JsonObject greeting = new JsonObject();
        greeting.add("QMP", qmp);
        return QmpJson.line(greeting);
    }

    /**
     * The reply to one framed input; never throws. {@code passed} are the descriptors that came with it: getfd may
     * take one; the caller closes the rest.
     */
    Reply handle(JsonFramer.Frame frame, PassedFds passed) {
        try {
            return switch (frame) {
                case JsonFramer.Frame.Error e -> error(QmpException.generic(e.desc()), null);
                case JsonFramer.Frame.Value v -> {
                    JsonElement request;
                    try {
                        request = QmpJson.parse(v.json(), maxDepth);
                    } catch (QmpJson.ParseException e) {
                        yield error(QmpException.generic(e.getMessage()), null);
                    }
                    yield dispatch(request, passed);
                }
            };
        } catch (RuntimeException e) {
            LOG.error("QMP: internal error while handling a request", e);
            unexpected.accept(e);
            return error(QmpException.generic("Internal error: " + e), null);
        }
    }

    private Reply dispatch(JsonElement request, PassedFds passed) {
        if (!(request instanceof JsonObject object)) {
            return error(QmpException.generic("QMP input must be a JSON object"), null);
        }
        JsonElement id = object.get("id");
        String command = null;
        for (Map.Entry<String, JsonElement> member : object.entrySet()) {
            String key = member.getKey();
            JsonElement value = member.getValue();
            switch (key) {
                case "execute" -> {
                    if (!(value instanceof JsonPrimitive p && p.isString())) {
                        return error(QmpException.generic("QMP input member 'execute' must be a string"), id);
                    }
                    command = p.getAsString();
                }
                case "arguments" -> {
                    if (!value.isJsonObject()) {
                        return error(QmpException.generic("QMP input member 'arguments' must be an object"), id);
                    }
                }
                case "id" -> {
                }
                // "exec-oob" lands here too: QEMU accepts it only once OOB is negotiated, which we never offer.
                default -> {
                    return error(QmpException.generic("QMP input member '" + key + "' is unexpected"), id);
                }
            }
        }
        if (command == null) {
            return error(QmpException.generic("QMP input lacks member 'execute'"), id);
        }
        QmpArguments args = QmpArguments.of(object.getAsJsonObject("arguments"));
        boolean negotiating = !negotiated;
        JsonElement result;
        try {
            result = negotiating ? negotiate(command, args) : execute(command, args, passed);
        } catch (QmpException e) {
            if (negotiating && e.errorClass().equals(QmpException.COMMAND_NOT_FOUND)) {
                // monitor/qmp.c replaces the desc with a more useful one while negotiating
                e = QmpException.commandNotFound("Expecting capabilities negotiation with 'qmp_capabilities'");
            }
            return error(e, id);
        }
        JsonObject reply = QmpJson.returnReply(result == null ? new JsonObject() : result, id);
        byte[] line;
        try {
            line = QmpJson.line(reply);
        } catch (RuntimeException e) { // e.g. NaN in a handler's result
            LOG.error("QMP command {} returned a value that is not JSON", command, e);
            return error(QmpException.generic("Command '" + command + "' failed: " + e.getMessage()), id);
        }
        boolean enablesEvents = negotiating && negotiated;
        return new Reply(line, enablesEvents);
    }

    /** Before negotiation only qmp_capabilities exists. */
    private JsonElement negotiate(String command, QmpArguments args) throws QmpException {
        if (!command.equals("qmp_capabilities")) {
            throw QmpException.commandNotFound("The command " + command + " has not been found");
        }
        capabilities(args);
        negotiated = true;
        return null;
    }

    private JsonElement execute(String command, QmpArguments args, PassedFds passed) throws QmpException {
        switch (command) {
            case "qmp_capabilities" -> {
                capabilities(args); // QEMU checks the arguments before the state
                throw QmpException.commandNotFound("Capabilities negotiation is already complete, command ignored");
            }
            case "query-commands" -> {
                args.checkUnexpected();
                return nameList(commands.commandNames());
            }
            case "query-events" -> {
                args.checkUnexpected();
                return nameList(commands.eventNames());
            }
            case "query-version" -> {
                args.checkUnexpected();
                return version.toJson();
            }
            case "getfd" -> {
                getfd(args, passed);
                return null;
            }
            case "closefd" -> {
                String name = args.requiredString("fdname");
                args.checkUnexpected();
                fds.close(name);
                return null;
            }
            default -> {
                QmpCommands.Handler handler = commands.handler(command);
                if (handler == null) {
                    throw QmpException.commandNotFound("The command " + command + " has not been found");
                }
                try {
                    return handler.handle(args);
                } catch (RuntimeException e) {
                    LOG.error("QMP command {} failed", command, e);
                    throw QmpException.generic("Command '" + command + "' failed: "
                            + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
                }
            }
        }
    }

    /** QEMU's qmp_getfd: the descriptor that came with this request goes into the table under its name. */
    private void getfd(QmpArguments args, PassedFds passed) throws QmpException {
        String name = args.requiredString("fdname");
        args.checkUnexpected();
        int fd = passed.take();
        if (fd < 0) {
            throw QmpException.generic("No file descriptor supplied via SCM_RIGHTS");
        }
        if (!name.isEmpty() && name.charAt(0) >= '0' && name.charAt(0) <= '9') {
            // A leading digit is how fd= tells a number from a name (monitor_fd_param).
            Fds.closeQuietly(fd);
            throw QmpException.invalidParameterValue("fdname", "a name not starting with a digit");
        }
        try {
            Fds.setBlocking(fd); // O_NONBLOCK comes along with a descriptor; QEMU clears it on receipt too
        } catch (RuntimeException e) {
            Fds.closeQuietly(fd);
            throw QmpException.generic("getfd: " + e.getMessage());
        }
        fds.put(name, fd);
    }

    /** qmp_capabilities' arguments: {"enable": [QMPCapability...]}; every known capability is unavailable here. */
    private static void capabilities(QmpArguments args) throws QmpException {
        List<String> enable = args.optionalStringList("enable").orElse(List.of());
        List<String> unavailable = new ArrayList<>();
        for (String capability : enable) {
            if (!KNOWN_CAPABILITIES.contains(capability)) {
                // QEMU's enum visitor, which names list elements 'null'
                throw QmpException.generic("Parameter 'null' does not accept value '" + capability + "'");
            }
            unavailable.add(capability);
        }
        args.checkUnexpected();
        if (!unavailable.isEmpty()) {
            throw QmpException.generic("Capability " + String.join(", ", unavailable) + " not available");
        }
    }

    private static JsonArray nameList(List<String> names) {
        JsonArray list = new JsonArray(names.size());
        for (String name : names) {
            JsonObject info = new JsonObject();
            info.addProperty("name", name);
            list.add(info);
        }
        return list;
    }

    private static Reply error(QmpException e, JsonElement id) {
        return new Reply(QmpJson.line(QmpJson.errorReply(e, id)), false);
    }
}
