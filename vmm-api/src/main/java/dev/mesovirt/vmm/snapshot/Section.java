package dev.mesovirt.vmm.snapshot;

import java.util.Arrays;
import java.util.Objects;

/**
 * One device's (or vCPU's, or interrupt controller's) state in a snapshot: its {@code id} (unique in the snapshot,
 * e.g. {@code vcpu0}, {@code serial0}, {@code blk0}), the {@code version} of the layout of {@code data}, and the data.
 */
public record Section(String id, int version, byte[] data) {
    public Section {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(data, "data");
        if (id.length() > SnapshotFormat.MAX_STRING || !SnapshotFormat.printable(id)) {
            throw new IllegalArgumentException("section id must have 1 to " + SnapshotFormat.MAX_STRING
                    + " printable ASCII characters: '" + id + "'");
        }
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /**
     * Throws SnapshotException unless the data has layout {@code readable}, the one this VMM reads (a snapshot from
     * another version of it is refused, not misread).
     */
    public void requireVersion(int readable) {
        if (version != readable) {
            throw new SnapshotException("snapshot: section " + id + " has version " + version
                    + ", this VMM reads version " + readable);
        }
    }

    /** A reader over the data, for a device's restore. */
    public StateReader reader() {
        return new StateReader(id, data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Section s && s.id.equals(id) && s.version == version && Arrays.equals(s.data, data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, version, Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "Section[" + id + " v" + version + ", " + data.length + " bytes]";
    }
}
