package dev.mesovirt.vmm.qmp;

import dev.mesovirt.vmm.sys.Fds;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The monitor's named file descriptors, QEMU's {@code mon->fds} (monitor/fds.c): filled by {@code getfd}, emptied
 * by {@code closefd} or by a command that takes one (netdev_add fd=). They outlive client connections, as QEMU's
 * monitor keeps them across reconnects, and are closed with the server. Thread-safe.
 */
final class QmpFdTable {
    private final Map<String, Integer> fds = new HashMap<>();
    private boolean closed;

    /** Stores {@code fd} under {@code name}, closing an earlier descriptor of that name (qmp_getfd replaces it). */
    void put(String name, int fd) {
        Integer dropped;
        synchronized (this) {
            dropped = closed ? Integer.valueOf(fd) : fds.put(name, fd);
        }
        if (dropped != null) {
            Fds.closeQuietly(dropped); // outside the lock, as QEMU closes outside mon_lock
        }
    }

    /** qmp_closefd. */
    void close(String name) throws QmpException {
        Integer fd;
        synchronized (this) {
            fd = fds.remove(name);
        }
        if (fd == null) {
            throw QmpException.generic("File descriptor named '" + name + "' not found");
        }
        Fds.closeQuietly(fd);
    }

    /** monitor_get_fd: removes the descriptor from the table and hands it over; the caller closes it. */
    int take(String name) throws QmpException {
        Integer fd;
        synchronized (this) {
            fd = fds.remove(name);
        }
        if (fd == null) {
            throw QmpException.generic("File descriptor named '" + name + "' has not been found");
        }
        return fd;
    }

    synchronized Set<String> names() {
        return new TreeSet<>(fds.keySet());
    }

    synchronized Integer peek(String name) {
        return fds.get(name);
    }

    /** Closes every descriptor; later puts close theirs at once. */
    void closeAll() {
        List<Integer> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(fds.values());
            fds.clear();
        }
        all.forEach(Fds::closeQuietly);
    }
}
