package dev.mesovirt.acpi;

import java.util.List;

/**
 * The architecture-neutral ACPI structures: the system description table header with its checksum, the RSDP
 * (revision 2) and XSDT that lead a guest to the tables, the MCFG of an ECAM window, the Generic Address Structure,
 * and the layout of a whole image (RSDP, XSDT, its tables, then the DSDT the FADT points at). The architectures'
 * table builders add what is theirs (x86's MADT with LAPIC and I/O APIC, arm64's MADT with GIC structures, GTDT,
 * IORT, SPCR...).
 */
public final class Sdt {
    public static final String OEM_ID = "MESOVT";
    public static final String OEM_TABLE_ID = "MESOVIRT";
    public static final int OEM_REVISION = 1;
    /** ASL compiler / creator ID: not a compiler, so our own four letters. */
    public static final String CREATOR_ID = "MSVT";
    public static final int CREATOR_REVISION = 1;

    public static final int RSDP_REVISION = 2; // ACPI 2.0+ RSDP with XSDT address and extended checksum
    public static final int XSDT_REVISION = 1;
    public static final int MCFG_REVISION = 1;
    public static final int HEADER_LENGTH = 36;
    public static final int RSDP_LENGTH = 36;
    public static final int TABLE_ALIGNMENT = 16;

    public static final int GAS_SYSTEM_MEMORY = 0;
    public static final int GAS_ACCESS_BYTE = 1;
    public static final int GAS_ACCESS_DWORD = 3;

    private Sdt() {
    }

    /** A table's header with its length and checksum still 0: {@link #finish} patches them. */
    public static ByteWriter begin(String signature, int revision) {
        return new ByteWriter(512)
                .ascii(signature, 4)
                .u32(0) // length, patched by finish
                .u8(revision)
                .u8(0) // checksum, patched by finish
                .ascii(OEM_ID, 6)
                .ascii(OEM_TABLE_ID, 8)
                .u32(OEM_REVISION)
                .ascii(CREATOR_ID, 4)
                .u32(CREATOR_REVISION);
    }

    /** Patches the length and the checksum (the whole table sums to 0 modulo 256) and returns the table. */
    public static byte[] finish(ByteWriter w) {
        w.putU32At(4, w.position());
        w.putU8At(9, w.checksumOf(0, w.position()));
        return w.toByteArray();
    }

    /** Root System Description Pointer, revision 2: no RSDT, only the 64-bit XSDT address. */
    public static byte[] rsdp(long xsdtAddress) {
        ByteWriter w = new ByteWriter(RSDP_LENGTH)
                .ascii("RSD PTR ", 8)
                .u8(0) // checksum over the ACPI 1.0 part (bytes 0..19), patched below
                .ascii(OEM_ID, 6)
                .u8(RSDP_REVISION)
                .u32(0) // RsdtAddress: none, revision 2 guests use the XSDT
                .u32(RSDP_LENGTH)
                .u64(xsdtAddress)
                .u8(0) // extended checksum over all 36 bytes, patched below
                .zeros(3);
        w.putU8At(8, w.checksumOf(0, 20));
        w.putU8At(32, w.checksumOf(0, RSDP_LENGTH));
        return w.toByteArray();
    }

    /** Extended System Description Table: 64-bit pointers to the tables (not the DSDT, which the FADT names). */
    public static byte[] xsdt(long... tableAddresses) {
        ByteWriter w = begin("XSDT", XSDT_REVISION);
        for (long address : tableAddresses) {
            w.u64(address);
        }
        return finish(w);
    }

    /**
     * PCI Express memory-mapped configuration space table, revision 1: one allocation, segment 0, buses
     * {@code 0..buses-1} from the ECAM base (PCI Firmware Specification 3.3, 4.1.2).
     */
    public static byte[] mcfg(long ecamBase, int buses) {
        if (buses < 1 || buses > 256) {
            throw new IllegalArgumentException("an ECAM window covers 1..256 buses, not " + buses);
        }
        ByteWriter w = begin("MCFG", MCFG_REVISION)
                .zeros(8) // reserved
                .u64(ecamBase) // of bus 0, even where the range starts later
                .u16(0) // PCI segment group
                .u8(0) // start bus
                .u8(buses - 1) // end bus
                .zeros(4); // reserved
        return finish(w);
    }

    /** Generic Address Structure for a byte-wide register in system memory (8-bit access). */
    public static void gasByte(ByteWriter w, long address) {
        w.u8(GAS_SYSTEM_MEMORY).u8(8 /* bit width */).u8(0 /* bit offset */).u8(GAS_ACCESS_BYTE).u64(address);
    }

    /** Generic Address Structure for a 32-bit register in system memory (dword access). */
    public static void gasDword(ByteWriter w, long address) {
        w.u8(GAS_SYSTEM_MEMORY).u8(32 /* bit width */).u8(0 /* bit offset */).u8(GAS_ACCESS_DWORD).u64(address);
    }

    /** Builds the FADT once the DSDT's address is known (its X_DSDT and DSDT fields). */
    @FunctionalInterface
    public interface FadtWriter {
        byte[] fadt(long dsdtAddress);
    }

    /**
     * Lays out RSDP, XSDT, FADT, the other tables in order, then the DSDT, contiguously from {@code baseAddress},
     * each 16-byte aligned, with the RSDP first (where x86's legacy BIOS-area scan also finds it). The XSDT lists the
     * FADT and then {@code tables}.
     *
     * @param baseAddress 16-byte aligned guest-physical address; the image must end below 4 GiB because the FADT's
     *     32-bit DSDT field repeats X_DSDT
     * @param fadtLength what {@code fadt} returns, so the layout is known before the FADT is written
     */
    public static AcpiImage image(long baseAddress, int fadtLength, FadtWriter fadt, List<byte[]> tables,
            byte[] dsdt) {
        if (baseAddress < 0 || (baseAddress & (TABLE_ALIGNMENT - 1)) != 0) {
            throw new IllegalArgumentException("baseAddress must be non-negative and 16-byte aligned but was 0x"
                    + Long.toHexString(baseAddress));
        }
        int xsdtOffset = align(RSDP_LENGTH);
        int xsdtLength = HEADER_LENGTH + (1 + tables.size()) * 8;
        int fadtOffset = align(xsdtOffset + xsdtLength);
        long[] addresses = new long[1 + tables.size()];
        addresses[0] = baseAddress + fadtOffset;
        int offset = align(fadtOffset + fadtLength);
        for (int i = 0; i < tables.size(); i++) {
            addresses[1 + i] = baseAddress + offset;
            offset = align(offset + tables.get(i).length);
        }
        int dsdtOffset = offset;
        int end = dsdtOffset + dsdt.length;
        if (baseAddress + end > 0x1_0000_0000L) {
            throw new IllegalArgumentException("ACPI tables at 0x" + Long.toHexString(baseAddress) + " (+" + end
                    + " bytes) must end below 4 GiB");
        }
        byte[] fadtTable = fadt.fadt(baseAddress + dsdtOffset);
        if (fadtTable.length != fadtLength) {
            throw new IllegalStateException("FADT is " + fadtTable.length + " bytes, expected " + fadtLength);
        }
        ByteWriter image = new ByteWriter(end);
        place(image, rsdp(baseAddress + xsdtOffset), 0);
        place(image, xsdt(addresses), xsdtOffset);
        place(image, fadtTable, fadtOffset);
        for (int i = 0; i < tables.size(); i++) {
            place(image, tables.get(i), (int) (addresses[1 + i] - baseAddress));
        }
        place(image, dsdt, dsdtOffset);
        return new AcpiImage(baseAddress, image.toByteArray(), baseAddress);
    }

    private static void place(ByteWriter image, byte[] table, int offset) {
        image.alignTo(TABLE_ALIGNMENT);
        if (image.position() != offset) {
            throw new IllegalStateException("layout mismatch: table at " + image.position() + ", expected " + offset);
        }
        image.bytes(table);
    }

    private static int align(int offset) {
        return (offset + TABLE_ALIGNMENT - 1) & -TABLE_ALIGNMENT;
    }
}
