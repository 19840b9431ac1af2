package dev.mesovirt.vmm.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The state file of a snapshot directory, little-endian:
 *
 * <pre>
 * magic "MESOSNAP", u32 format version, u32 header length, header, u32 CRC32C of everything before it
 * header: string architecture, string machine type, u32 vCPUs, u64 RAM bytes, u32 n, n x string section id
 * n x section: string id, u32 version, u32 length, data, u32 CRC32C of the section from its id on
 * magic "SNAPEND\0"
 * </pre>
 *
 * Strings are a u16 byte count and UTF-8. {@link #decode} checks everything (magic, version, every length against
 * what is left, every checksum, the section ids against the header's list, the end marker, nothing after it) and
 * fails with a one-line {@link SnapshotException}; it builds nothing but records.
 */
public final class SnapshotFormat {
    /** This VMM's format version; a file of another version is refused (no conversions yet). */
    public static final int VERSION = 1;
    static final int MAX_STRING = 255;
    /** At most this many sections: vCPUs, interrupt controllers and devices of one machine. */
    static final int MAX_SECTIONS = 4096;
    private static final byte[] MAGIC = "MESOSNAP".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "SNAPEND\0".getBytes(StandardCharsets.US_ASCII);

    private SnapshotFormat() {
    }

    public static byte[] encode(Snapshot snapshot) {
        SnapshotHeader h = snapshot.header();
        StateWriter header = new StateWriter().string(h.architecture()).string(h.machineType()).u32(h.vcpus())
                .u64(h.memoryBytes()).u32(h.sections().size());
        h.sections().forEach(header::string);
        StateWriter out = new StateWriter().raw(MAGIC).u32(VERSION).bytes(header.toByteArray());
        byte[] head = out.toByteArray();
        out.u32(crc(head, 0, head.length));
        for (Section s : snapshot.sections()) {
            byte[] section = new StateWriter().string(s.id()).u32(s.version()).bytes(s.data()).toByteArray();
            out.raw(section).u32(crc(section, 0, section.length));
        }
        return out.raw(END).toByteArray();
    }

    public static Snapshot decode(byte[] file) {
        StateReader in = new StateReader("the state file", file);
        if (file.length < MAGIC.length || !Arrays.equals(in.raw(MAGIC.length), MAGIC)) {
            throw new SnapshotException("snapshot: the state file is not a Mesovirt snapshot (bad magic)");
        }
        int version = in.u32();
        if (version != VERSION) {
            throw new SnapshotException("snapshot: format version " + Integer.toUnsignedString(version)
                    + ", this VMM reads version " + VERSION);
        }
        byte[] headerBytes = in.bytes();
        int headEnd = in.position();
        int headerCrc = in.u32();
        if (headerCrc != crc(file, 0, headEnd)) {
            throw new SnapshotException("snapshot: the state file's header is corrupted (CRC32C mismatch)");
        }
        StateReader hr = new StateReader("the snapshot header", headerBytes);
        String arch = name(hr, "architecture");
        String machine = name(hr, "machine type");
        int vcpus = hr.u32In("vCPU count", 1, 1024);
        long memory = hr.u64();
        if (memory <= 0 || memory % 4096 != 0) {
            throw new SnapshotException("snapshot: the header gives a RAM size of " + Long.toUnsignedString(memory)
                    + " bytes, not a positive number of pages");
        }
        int n = hr.u32In("section count", 0, MAX_SECTIONS);
        List<String> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String id = name(hr, "section id");
            if (ids.contains(id)) {
                throw new SnapshotException("snapshot: the header lists section " + id + " twice");
            }
            ids.add(id);
        }
        hr.end();
        List<Section> sections = new ArrayList<>(n);
        for (String expected : ids) {
            int start = in.position();
            String id = in.string();
            if (!id.equals(expected)) {
                throw new SnapshotException("snapshot: section " + (printable(id) ? id : "(an unprintable name)")
                        + " where the header lists " + expected);
            }
            int sectionVersion = in.u32();
            byte[] data = in.bytes();
            int end = in.position();
            if (in.u32() != crc(file, start, end - start)) {
                throw new SnapshotException("snapshot: section " + id + " is corrupted (CRC32C mismatch)");
            }
            sections.add(new Section(id, sectionVersion, data));
        }
        if (in.remaining() < END.length || !Arrays.equals(in.raw(END.length), END)) {
            throw new SnapshotException("snapshot: the state file has no end marker after its last section");
        }
        in.end();
        return new Snapshot(new SnapshotHeader(arch, machine, vcpus, memory, ids), sections);
    }

    /**
     * A name of the header (ISA, machine type, section id): 1 to 255 printable ASCII characters, so that every error
     * message that quotes one stays one line.
     */
    private static String name(StateReader r, String what) {
        String s = r.string();
        if (!printable(s)) {
            throw new SnapshotException("snapshot: the header has an " + (s.isEmpty() ? "empty " : "unprintable ")
                    + what);
        }
        return s;
    }

    static boolean printable(String s) {
        return !s.isEmpty() && s.chars().allMatch(c -> c > 0x20 && c < 0x7f);
    }

    private static int crc(byte[] b, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(b, offset, length);
        return (int) c.getValue();
    }
}
