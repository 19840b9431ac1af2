package dev.mesovirt.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The VMM's ACPI tables for firmware that installs them itself (OVMF through fw_cfg, as QEMU hands them over): an
 * {@link AcpiImage} built for some base address is turned into QEMU's three files, {@code etc/acpi/rsdp} (the RSDP),
 * {@code etc/acpi/tables} (the rest) and {@code etc/table-loader} (the script that places them and links them
 * again). Every pointer field the image holds (the RSDP's RSDT and XSDT addresses, the XSDT's and RSDT's entries,
 * the FADT's FACS and DSDT fields) becomes an offset in the tables blob plus an ADD_POINTER command, and every
 * checksum is zeroed and recomputed by an ADD_CHECKSUM after the pointers are patched.
 *
 * @param rsdp {@code etc/acpi/rsdp}
 * @param tables {@code etc/acpi/tables}
 * @param loader {@code etc/table-loader}
 */
public record FirmwareAcpi(byte[] rsdp, byte[] tables, byte[] loader) {
    public static final String RSDP_FILE = "etc/acpi/rsdp";
    public static final String TABLES_FILE = "etc/acpi/tables";
    public static final String LOADER_FILE = "etc/table-loader";
    static final int HEADER_LENGTH = 36;
    static final int CHECKSUM = 9;
    static final int RSDP_V2_LENGTH = 36;

    /** A pointer field of the image: where it is and how wide. */
    private record Pointer(boolean inRsdp, int offset, int size) {}

    /** Converts {@code image}; IllegalArgumentException if a pointer leads outside it (not an image of ours). */
    public static FirmwareAcpi of(AcpiImage image) {
        byte[] all = image.bytes();
        long base = image.baseAddress();
        int rsdpAt = (int) (image.rsdpAddress() - base);
        byte[] rsdp = java.util.Arrays.copyOfRange(all, rsdpAt, rsdpAt + RSDP_V2_LENGTH);
        byte[] tables = all.clone();
        ByteBuffer r = ByteBuffer.wrap(rsdp).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer t = ByteBuffer.wrap(tables).order(ByteOrder.LITTLE_ENDIAN);

        List<Pointer> pointers = new ArrayList<>();
        List<Integer> tableStarts = new ArrayList<>();
        int rsdt = (int) Integer.toUnsignedLong(r.getInt(16));
        long xsdt = r.getLong(24);
        if (rsdt != 0) {
            pointers.add(new Pointer(true, 16, 4));
            walkRoot(t, offsetOf(rsdt, base, tables), 4, base, pointers, tableStarts);
        }
        if (xsdt != 0) {
            pointers.add(new Pointer(true, 24, 8));
            walkRoot(t, offsetOf(xsdt, base, tables), 8, base, pointers, tableStarts);
        }
        // Pointers become offsets in the tables blob; the firmware adds the blob's address back.
        for (Pointer p : pointers) {
            ByteBuffer b = p.inRsdp() ? r : t;
            long value = p.size() == 8 ? b.getLong(p.offset()) : Integer.toUnsignedLong(b.getInt(p.offset()));
            long offset = offsetOf(value, base, tables);
            if (p.size() == 8) {
                b.putLong(p.offset(), offset);
            } else {
                b.putInt(p.offset(), (int) offset);
            }
        }
        TableLoader loader = new TableLoader()
                .allocate(RSDP_FILE, 16, TableLoader.Zone.FSEG)
                .allocate(TABLES_FILE, 64, TableLoader.Zone.HIGH);
        for (Pointer p : pointers) {
            loader.addPointer(p.inRsdp() ? RSDP_FILE : TABLES_FILE, TABLES_FILE, p.offset(), p.size());
        }
        for (int start : tableStarts) {
            int length = t.getInt(start + 4);
            tables[start + CHECKSUM] = 0;
            loader.addChecksum(TABLES_FILE, start + CHECKSUM, start, length);
        }
        rsdp[8] = 0; // over the first 20 bytes (ACPI 1.0's part), then the extended one over all 36
        rsdp[32] = 0;
        loader.addChecksum(RSDP_FILE, 8, 0, 20);
        loader.addChecksum(RSDP_FILE, 32, 0, RSDP_V2_LENGTH);
        return new FirmwareAcpi(rsdp, tables, loader.bytes());
    }

    /** The root table at {@code at} (entries of {@code width} bytes), and the tables it lists, FADT's too. */
    private static void walkRoot(ByteBuffer t, int at, int width, long base, List<Pointer> pointers,
            List<Integer> starts) {
        addStart(starts, at);
        int length = t.getInt(at + 4);
        for (int e = at + HEADER_LENGTH; e + width <= at + length; e += width) {
            pointers.add(new Pointer(false, e, width));
            long value = width == 8 ? t.getLong(e) : Integer.toUnsignedLong(t.getInt(e));
            int table = offsetOf(value, base, t.array());
            addStart(starts, table);
            if (signature(t, table).equals("FACP")) {
                fadt(t, table, base, pointers, starts);
            }
        }
    }

    /** FIRMWARE_CTRL (36), DSDT (40), X_FIRMWARE_CTRL (132) and X_DSDT (140), where present and non-zero. */
    private static void fadt(ByteBuffer t, int fadt, long base, List<Pointer> pointers, List<Integer> starts) {
        int length = t.getInt(fadt + 4);
        int[][] fields = {{36, 4}, {40, 4}, {132, 8}, {140, 8}};
        for (int[] f : fields) {
            if (f[0] + f[1] > length) {
                continue;
            }
            int at = fadt + f[0];
            long value = f[1] == 8 ? t.getLong(at) : Integer.toUnsignedLong(t.getInt(at));
            if (value == 0) {
                continue;
            }
            pointers.add(new Pointer(false, at, f[1]));
            int target = offsetOf(value, base, t.array());
            if (!signature(t, target).equals("FACS")) { // the FACS has no checksum of its own
                addStart(starts, target);
            }
        }
    }

    private static void addStart(List<Integer> starts, int at) {
        if (!starts.contains(at)) {
            starts.add(at);
        }
    }

    private static String signature(ByteBuffer t, int at) {
        byte[] s = new byte[4];
        t.get(at, s);
        return new String(s, StandardCharsets.US_ASCII);
    }

    private static int offsetOf(long address, long base, byte[] image) {
        long offset = address - base;
        if (offset < 0 || offset + HEADER_LENGTH > image.length) {
            throw new IllegalArgumentException("ACPI pointer 0x" + Long.toHexString(address) + " leads outside the"
                    + " image at 0x" + Long.toHexString(base));
        }
        return (int) offset;
    }
}
