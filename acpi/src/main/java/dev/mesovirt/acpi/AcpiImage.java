package dev.mesovirt.acpi;

import java.util.Arrays;

/**
 * The complete set of ACPI tables, laid out contiguously for copying into guest memory at
 * {@code baseAddress}. All pointers inside the tables are absolute guest-physical addresses, so the
 * bytes are only valid at that address.
 *
 * @param baseAddress guest-physical address of {@code bytes[0]}
 * @param bytes       the tables (a defensive copy is kept and handed out)
 * @param rsdpAddress guest-physical address of the RSDP, to pass in {@code boot_params.acpi_rsdp_addr}
 */
public record AcpiImage(long baseAddress, byte[] bytes, long rsdpAddress) {

    public AcpiImage {
        bytes = bytes.clone();
        if (rsdpAddress < baseAddress || rsdpAddress >= baseAddress + bytes.length) {
            throw new IllegalArgumentException("rsdpAddress 0x" + Long.toHexString(rsdpAddress)
                    + " lies outside the image");
        }
    }

    /** A copy of the image bytes (records are shallowly immutable; the array is not shared). */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    public int size() {
        return bytes.length;
    }

    /** First guest-physical address after the image. */
    public long endAddress() {
        return baseAddress + bytes.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AcpiImage other && baseAddress == other.baseAddress
                && rsdpAddress == other.rsdpAddress && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(baseAddress) * 31 + Long.hashCode(rsdpAddress) * 17 + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "AcpiImage[baseAddress=0x" + Long.toHexString(baseAddress) + ", size=" + bytes.length
                + ", rsdpAddress=0x" + Long.toHexString(rsdpAddress) + "]";
    }
}
