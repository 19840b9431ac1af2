package dev.mesovirt.vmm.snapshot;

import java.util.List;
import java.util.Objects;

/**
 * What a snapshot was taken of: the ISA ({@code x86_64}, ...), the machine type's name ({@code microvm}, ...), the
 * vCPU count, the size of guest RAM (the {@code memory} file) and the ids of its sections in file order (vCPUs,
 * interrupt controller, devices): the device set that a restoring VMM's command line must build.
 */
public record SnapshotHeader(String architecture, String machineType, int vcpus, long memoryBytes,
                             List<String> sections) {
    public SnapshotHeader {
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(machineType, "machineType");
        sections = List.copyOf(sections);
        if (vcpus < 1) {
            throw new IllegalArgumentException("vcpus must be at least 1");
        }
        if (memoryBytes <= 0) {
            throw new IllegalArgumentException("memoryBytes must be positive");
        }
        if (sections.stream().distinct().count() != sections.size()) {
            throw new IllegalArgumentException("duplicate section id in " + sections);
        }
    }
}
