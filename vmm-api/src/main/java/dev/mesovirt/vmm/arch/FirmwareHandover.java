package dev.mesovirt.vmm.arch;

import java.util.Optional;

/**
 * What the VMM hands the firmware of a standard machine besides the machine itself: a kernel to boot instead of a
 * disk's ({@code -kernel} with pflash), and whether it gets the machine's ACPI tables to install (QEMU's
 * {@code acpi=on}: on q35 always; on arm64 virt the firmware then hands the guest ACPI instead of the device tree).
 */
public record FirmwareHandover(Optional<FirmwareKernel> kernel, boolean acpiTables) {
    public FirmwareHandover {
        java.util.Objects.requireNonNull(kernel, "kernel");
    }
}
