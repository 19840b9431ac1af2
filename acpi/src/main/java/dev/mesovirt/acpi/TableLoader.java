package dev.mesovirt.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU's ACPI linker/loader script, the fw_cfg file {@code etc/table-loader}: the commands by which firmware (OVMF's
 * {@code QemuFwCfgAcpiPlatformDxe}) places the VMM's table blobs in its own memory, patches the pointers between them
 * and fixes their checksums, then installs the tables it finds. Each command is 128 bytes, little-endian:
 * ALLOCATE (1: file, alignment, zone), ADD_POINTER (2: destination file, source file, offset, size; the source
 * blob's address is added to the size-byte number at offset in the destination), ADD_CHECKSUM (3: file, result
 * offset, start, length; the byte at the result offset, zero in the blob, becomes the ACPI checksum of the range).
 */
public final class TableLoader {
    static final int COMMAND_SIZE = 128;
    /** A fw_cfg file name field: 56 bytes, NUL-padded (QEMU's FW_CFG_MAX_FILE_PATH), as in the file directory. */
    static final int FILE_NAME_LENGTH = 56;
    static final int ALLOCATE = 1;
    static final int ADD_POINTER = 2;
    static final int ADD_CHECKSUM = 3;
    /** Where ALLOCATE may put a blob: anywhere (HIGH) or in the BIOS's F segment (FSEG), where an RSDP must be. */
    public enum Zone { HIGH(1), FSEG(2);
        final int code;

        Zone(int code) {
            this.code = code;
        }
    }

    private final List<byte[]> commands = new ArrayList<>();

    public TableLoader allocate(String file, int alignment, Zone zone) {
        ByteBuffer b = command(ALLOCATE);
        name(b, file);
        b.putInt(alignment).put((byte) zone.code);
        return add(b);
    }

    public TableLoader addPointer(String destination, String source, int offset, int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("a pointer is 1, 2, 4 or 8 bytes, not " + size);
        }
        ByteBuffer b = command(ADD_POINTER);
        name(b, destination);
        name(b, source);
        b.putInt(offset).put((byte) size);
        return add(b);
    }

    public TableLoader addChecksum(String file, int resultOffset, int start, int length) {
        ByteBuffer b = command(ADD_CHECKSUM);
        name(b, file);
        b.putInt(resultOffset).putInt(start).putInt(length);
        return add(b);
    }

    /** The script, {@code etc/table-loader}'s contents. */
    public byte[] bytes() {
        ByteBuffer all = ByteBuffer.allocate(commands.size() * COMMAND_SIZE);
        commands.forEach(all::put);
        return all.array();
    }

    private static ByteBuffer command(int type) {
        return ByteBuffer.allocate(COMMAND_SIZE).order(ByteOrder.LITTLE_ENDIAN).putInt(type);
    }

    private static void name(ByteBuffer b, String file) {
        byte[] n = file.getBytes(StandardCharsets.US_ASCII);
        if (n.length >= FILE_NAME_LENGTH) {
            throw new IllegalArgumentException("file name '" + file + "' too long");
        }
        b.put(n).put(new byte[FILE_NAME_LENGTH - n.length]);
    }

    private TableLoader add(ByteBuffer b) {
        commands.add(b.array());
        return this;
    }
}
