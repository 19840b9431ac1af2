package dev.mesovirt.vmm.snapshot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** A machine's state file: its {@link SnapshotHeader} and one {@link Section} per id the header lists, in order. */
public record Snapshot(SnapshotHeader header, List<Section> sections) {
    public Snapshot {
        Objects.requireNonNull(header, "header");
        sections = List.copyOf(sections);
        List<String> ids = new ArrayList<>();
        for (Section s : sections) {
            ids.add(s.id());
        }
        if (!ids.equals(header.sections())) {
            throw new IllegalArgumentException("sections " + ids + " differ from the header's " + header.sections());
        }
    }

    /** A snapshot whose header lists exactly {@code sections}. */
    public static Snapshot of(String architecture, String machineType, int vcpus, long memoryBytes,
                              List<Section> sections) {
        List<String> ids = sections.stream().map(Section::id).toList();
        return new Snapshot(new SnapshotHeader(architecture, machineType, vcpus, memoryBytes, ids), sections);
    }

    public Map<String, Section> byId() {
        Map<String, Section> m = new LinkedHashMap<>();
        for (Section s : sections) {
            m.put(s.id(), s);
        }
        return m;
    }

    /** The section {@code id}, which the header check has already made sure exists. */
    public Section section(String id) {
        for (Section s : sections) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        throw new SnapshotException("snapshot: no section " + id);
    }

    /**
     * Checks, before anything is built, that this snapshot is of the machine that the restoring command line
     * describes: same ISA, machine type, vCPU count, RAM size and exactly the same sections (device set). Each
     * mismatch is one line naming both sides.
     */
    public void requireMatches(String architecture, String machineType, int vcpus, long memoryBytes,
                               List<String> sectionIds) {
        requireMachine(architecture, machineType, vcpus, memoryBytes);
        requireSections(sectionIds);
    }

    /** The checks of {@link #requireMatches} that need no device built: ISA, machine type, vCPUs, RAM. */
    public void requireMachine(String architecture, String machineType, int vcpus, long memoryBytes) {
        SnapshotHeader h = header;
        if (!h.architecture().equals(architecture)) {
            throw new SnapshotException("snapshot: taken on " + h.architecture() + ", this VMM runs " + architecture);
        }
        if (!h.machineType().equals(machineType)) {
            throw new SnapshotException("snapshot: of a " + h.machineType() + " machine, the command line asks for "
                    + machineType);
        }
        if (h.vcpus() != vcpus) {
            throw new SnapshotException("snapshot: has " + h.vcpus() + " vCPUs, the command line asks for " + vcpus);
        }
        if (h.memoryBytes() != memoryBytes) {
            throw new SnapshotException("snapshot: has " + (h.memoryBytes() >> 20) + " MiB of RAM, the command line asks for "
                    + (memoryBytes >> 20) + " MiB");
        }
    }

    /** The device set check of {@link #requireMatches}: exactly these sections, in this order. */
    public void requireSections(List<String> sectionIds) {
        SnapshotHeader h = header;
        if (!h.sections().equals(sectionIds)) {
            List<String> missing = new ArrayList<>(h.sections());
            missing.removeAll(sectionIds);
            List<String> extra = new ArrayList<>(sectionIds);
            extra.removeAll(h.sections());
            throw new SnapshotException("snapshot: its devices " + h.sections() + " differ from the command line's "
                    + sectionIds + (missing.isEmpty() ? "" : " (missing: " + missing + ")")
                    + (extra.isEmpty() ? "" : " (not in the snapshot: " + extra + ")"));
        }
    }
}
