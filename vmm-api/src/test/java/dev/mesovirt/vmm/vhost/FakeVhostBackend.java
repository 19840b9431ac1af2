package dev.mesovirt.vmm.vhost;

import dev.mesovirt.vmm.sys.EventFd;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An in-memory {@link VhostBackend} and {@link VsockControl} that records every request as a line of text, keeps
 * what it was given, and can be told to refuse one request (by its name) with an errno.
 */
final class FakeVhostBackend implements VhostBackend, VsockControl {
    final List<String> log = new ArrayList<>();
    final Map<Integer, EventFd> kicks = new HashMap<>();
    final Map<Integer, EventFd> calls = new HashMap<>();
    final Map<Integer, VringAddress> rings = new HashMap<>();
    List<VhostMemoryRegion> memTable = List.of();
    final long features;
    final boolean shareKick;
    String failOn;
    int failErrno = 22;
    boolean closed;

    FakeVhostBackend(long features, boolean shareKick) {
        this.features = features;
        this.shareKick = shareKick;
    }

    private void record(String request, String line) throws VhostException {
        if (closed) {
            throw new VhostException(request + " after close");
        }
        log.add(line);
        if (request.equals(failOn)) {
            throw new VhostException("fake: " + request + " refused", failErrno, null);
        }
    }

    @Override
    public long getFeatures() throws VhostException {
        record("GET_FEATURES", "GET_FEATURES");
        return features;
    }

    @Override
    public void setFeatures(long f) throws VhostException {
        record("SET_FEATURES", "SET_FEATURES 0x" + Long.toHexString(f));
    }

    @Override
    public void setOwner() throws VhostException {
        record("SET_OWNER", "SET_OWNER");
    }

    @Override
    public void setMemTable(List<VhostMemoryRegion> regions) throws VhostException {
        record("SET_MEM_TABLE", "SET_MEM_TABLE " + regions.size());
        memTable = List.copyOf(regions);
    }

    @Override
    public void setVringNum(int queue, int size) throws VhostException {
        record("SET_VRING_NUM", "SET_VRING_NUM " + queue + " " + size);
    }

    @Override
    public void setVringAddr(VringAddress address) throws VhostException {
        record("SET_VRING_ADDR", "SET_VRING_ADDR " + address.queue());
        rings.put(address.queue(), address);
    }

    @Override
    public void setVringBase(int queue, int base) throws VhostException {
        record("SET_VRING_BASE", "SET_VRING_BASE " + queue + " " + base);
    }

    @Override
    public int getVringBase(int queue) throws VhostException {
        record("GET_VRING_BASE", "GET_VRING_BASE " + queue);
        return 0;
    }

    @Override
    public void setVringKick(int queue, EventFd kick) throws VhostException {
        record("SET_VRING_KICK", "SET_VRING_KICK " + queue);
        kicks.put(queue, kick);
    }

    @Override
    public void setVringCall(int queue, EventFd call) throws VhostException {
        record("SET_VRING_CALL", "SET_VRING_CALL " + queue);
        calls.put(queue, call);
    }

    @Override
    public void setVringEnable(int queue, boolean enable) throws VhostException {
        record("SET_VRING_ENABLE", "SET_VRING_ENABLE " + queue + " " + (enable ? 1 : 0));
    }

    @Override
    public boolean mayShareKickFd() {
        return shareKick;
    }

    @Override
    public void setGuestCid(long cid) throws VhostException {
        record("SET_GUEST_CID", "SET_GUEST_CID " + cid);
    }

    @Override
    public void setRunning(boolean running) throws VhostException {
        record("SET_RUNNING", "SET_RUNNING " + (running ? 1 : 0));
    }

    @Override
    public void close() {
        log.add("CLOSE");
        closed = true;
    }
}
