package dev.mesovirt.vmm.firmware;

import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * QEMU's firmware configuration device (docs/specs/fw_cfg.rst), through which OVMF learns the machine: read-only
 * items selected by a 16-bit key, named files in a directory (key 0x19), and a DMA interface. The x86 port layout:
 * offset 0 (port 0x510) the selector, 16 bits; offset 1 (0x511) the data port, one byte per read, advancing in the
 * selected item and reading 0 past its end; offsets 4-11 (0x514-0x51B) the DMA address, big-endian, written as a
 * 64-bit value or as two 32-bit halves (the high one first): the write of the low half starts the transfer. Reading
 * the DMA register gives the signature "QEMU CFG".
 *
 * <p>A DMA request is a {@code FWCfgDmaAccess} in guest RAM (big-endian control, length, address): SELECT (bit 3,
 * key in bits 16-31), then READ (bit 1) copies the item from the current offset (zeros past its end), SKIP (bit 2)
 * advances, WRITE (bit 4) is refused (no item here is writable); a zero length, or none of the three, is nothing to
 * do; the control word is written back 0 on success, with ERROR (bit 0) otherwise. Every guest-physical range is
 * checked against guest RAM before it is touched: a target anywhere else, or a length beyond RAM, is an ERROR and
 * nothing is transferred, so a guest cannot make the VMM read or write outside its memory; a request whose 16 bytes
 * are not all in RAM gets ERROR in its control word if that word is (QEMU's behaviour, checked against a model of it
 * by FwCfgFuzzTarget). Every transfer clears the DMA address.
 */
public final class FwCfg implements BusDevice {
    public static final int PORT_BASE = 0x510;
    public static final int LENGTH = 12;
    static final int SELECTOR = 0;
    static final int DATA = 1;
    static final int DMA = 4;

    public static final int SIGNATURE = 0x0000;
    public static final int ID = 0x0001;
    public static final int UUID = 0x0002;
    public static final int RAM_SIZE = 0x0003;
    public static final int NB_CPUS = 0x0005;
    public static final int MAX_CPUS = 0x000f;
    /** The kernel handed to the firmware (QEMU's x86 -kernel): sizes (32-bit little-endian) and data. */
    public static final int KERNEL_SIZE = 0x0008;
    public static final int INITRD_SIZE = 0x000b;
    public static final int KERNEL_DATA = 0x0011;
    public static final int INITRD_DATA = 0x0012;
    public static final int CMDLINE_SIZE = 0x0014;
    public static final int CMDLINE_DATA = 0x0015;
    public static final int SETUP_SIZE = 0x0017;
    public static final int SETUP_DATA = 0x0018;
    public static final int FILE_DIR = 0x0019;
    public static final int FILE_FIRST = 0x0020;
    /** FW_CFG_ID: the traditional interface (bit 0) and DMA (bit 1). */
    static final int ID_TRADITIONAL = 1;
    static final int ID_DMA = 2;
    static final long DMA_SIGNATURE = 0x51454d5520434647L; // "QEMU CFG"
    static final int FILE_NAME_LENGTH = 56;

    static final int DMA_ERROR = 0x01;
    static final int DMA_READ = 0x02;
    static final int DMA_SKIP = 0x04;
    static final int DMA_SELECT = 0x08;
    static final int DMA_WRITE = 0x10;
    static final int DMA_ACCESS_SIZE = 16;

    /** The items by key, the directory and signature included. */
    private final Map<Integer, byte[]> items;
    private final GuestMemory memory;
    private int selected = SIGNATURE;
    private int offset;
    private long dmaAddressHigh;

    private FwCfg(Map<Integer, byte[]> items, GuestMemory memory) {
        this.items = items;
        this.memory = memory;
    }

    /** Collects the items and files of one machine. */
    public static final class Builder {
        private final Map<Integer, byte[]> items = new TreeMap<>();
        private final Map<String, byte[]> files = new LinkedHashMap<>();

        /** A numbered item (below {@link #FILE_FIRST}, or an architecture's 0x8000 range). */
        public Builder item(int key, byte[] data) {
            if (key == SIGNATURE || key == ID || key == FILE_DIR || (key >= FILE_FIRST && key < 0x4000)
                    || key < 0 || key > 0xFFFF) {
                throw new IllegalArgumentException("fw_cfg key 0x" + Integer.toHexString(key) + " is not free");
            }
            items.put(key, data.clone());
            return this;
        }

        /** A 16-, 32- or 64-bit little-endian numbered item, as QEMU stores numbers. */
        public Builder number(int key, long value, int bytes) {
            ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
            switch (bytes) {
                case 2 -> b.putShort((short) value);
                case 4 -> b.putInt((int) value);
                case 8 -> b.putLong(value);
                default -> throw new IllegalArgumentException("a number item is 2, 4 or 8 bytes");
            }
            return item(key, b.array());
        }

        /** A named file ("etc/e820", "bootorder"...), in the directory in the order added. */
        public Builder file(String name, byte[] data) {
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            if (n.length == 0 || n.length >= FILE_NAME_LENGTH) {
                throw new IllegalArgumentException("fw_cfg file name '" + name + "' is not 1.."
                        + (FILE_NAME_LENGTH - 1) + " characters");
            }
            if (files.putIfAbsent(name, data.clone()) != null) {
                throw new IllegalArgumentException("fw_cfg file '" + name + "' given twice");
            }
            return this;
        }

        /** The device, whose DMA reaches {@code memory}. */
        public FwCfg build(GuestMemory memory) {
            Map<Integer, byte[]> all = new TreeMap<>(items);
            all.put(SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII));
            all.put(ID, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(ID_TRADITIONAL | ID_DMA).array());
            // The directory: count, then per file size, key, reserved and a NUL-padded name, all big-endian.
            ByteBuffer dir = ByteBuffer.allocate(4 + files.size() * (8 + FILE_NAME_LENGTH));
            dir.putInt(files.size());
            int key = FILE_FIRST;
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                dir.putInt(f.getValue().length).putShort((short) key).putShort((short) 0);
                byte[] name = new byte[FILE_NAME_LENGTH];
                byte[] n = f.getKey().getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(n, 0, name, 0, n.length);
                dir.put(name);
                all.put(key++, f.getValue());
            }
            all.put(FILE_DIR, dir.array());
            return new FwCfg(all, memory);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A copy of item {@code key}'s contents, or empty (tests and the log). */
    public java.util.Optional<byte[]> item(int key) {
        byte[] b = items.get(key);
        return b == null ? java.util.Optional.empty() : java.util.Optional.of(b.clone());
    }

    /** The names of the files, in directory order (for the log and tests). */
    public List<String> fileNames() {
        List<String> names = new ArrayList<>();
        ByteBuffer dir = ByteBuffer.wrap(items.get(FILE_DIR));
        int count = dir.getInt();
        for (int i = 0; i < count; i++) {
            dir.position(4 + i * (8 + FILE_NAME_LENGTH) + 8);
            byte[] name = new byte[FILE_NAME_LENGTH];
            dir.get(name);
            int end = 0;
            while (end < name.length && name[end] != 0) {
                end++;
            }
            names.add(new String(name, 0, end, StandardCharsets.US_ASCII));
        }
        return names;
    }

    /** Back to the power-on state: the signature selected. */
    public synchronized void reset() {
        select(SIGNATURE);
        dmaAddressHigh = 0;
    }

    @Override
    public synchronized void read(long at, byte[] data) {
        if (at == DATA) {
            byte[] item = items.get(selected);
            for (int i = 0; i < data.length; i++) {
                data[i] = item != null && offset < item.length ? item[offset] : 0;
                if (item != null && offset < item.length) {
                    offset++;
                }
            }
        } else if (at >= DMA && at + data.length <= DMA + 8) {
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (DMA_SIGNATURE >>> (8 * (7 - (at - DMA + i))));
            }
        } else {
            java.util.Arrays.fill(data, (byte) 0);
        }
    }

    @Override
    public synchronized void write(long at, byte[] data) {
        if (at == SELECTOR && data.length == 2) {
            select((data[0] & 0xFF) | (data[1] & 0xFF) << 8);
        } else if (at == DMA && data.length == 8) {
            dma(ByteBuffer.wrap(data).getLong()); // big-endian, as the bytes arrive in address order
        } else if (at == DMA && data.length == 4) {
            dmaAddressHigh = Integer.toUnsignedLong(ByteBuffer.wrap(data).getInt());
        } else if (at == DMA + 4 && data.length == 4) {
            dma(dmaAddressHigh << 32 | Integer.toUnsignedLong(ByteBuffer.wrap(data).getInt()));
        }
        // Writes to the data port (a deprecated interface QEMU ignores too) and odd sizes: ignored.
    }

    private void select(int key) {
        selected = key & 0xFFFF;
        offset = 0;
    }

    /** One DMA request at {@code address}; the result goes back into its control word. */
    private void dma(long address) {
        // Every transfer clears the address, the 64-bit write's too (QEMU's fw_cfg_dma_transfer): a later low half
        // alone starts a transfer below 4 GiB, not at a high half written before.
        dmaAddressHigh = 0;
        if (!memory.contains(address, DMA_ACCESS_SIZE)) {
            // The request cannot be read: ERROR in its control word if that word is in RAM (as QEMU's failed
            // dma_memory_read), otherwise nothing happens, as nothing could be reported.
            if (memory.contains(address, 4)) {
                memory.write(address, ByteBuffer.allocate(4).putInt(DMA_ERROR).array());
            }
            return;
        }
        ByteBuffer access = ByteBuffer.wrap(memory.read(address, DMA_ACCESS_SIZE));
        int control = access.getInt(0);
        long length = Integer.toUnsignedLong(access.getInt(4));
        long target = access.getLong(8);
        boolean ok = transfer(control, length, target);
        memory.write(address, ByteBuffer.allocate(4).putInt(ok ? 0 : DMA_ERROR).array());
    }

    private boolean transfer(int control, long length, long target) {
        if ((control & DMA_SELECT) != 0) {
            select(control >>> 16);
        }
        if (length == 0 || (control & (DMA_READ | DMA_WRITE | DMA_SKIP)) == 0) {
            return true; // nothing to transfer: done, wherever the address points (QEMU's loop does not run)
        }
        byte[] item = items.get(selected);
        int size = item == null ? 0 : item.length;
        if ((control & DMA_READ) != 0) {
            if (!memory.contains(target, length)) {
                return false;
            }
            long copied = Math.min(length, Math.max(size - offset, 0));
            if (copied > 0) {
                memory.write(target, item, offset, (int) copied);
            }
            if (length > copied) {
                memory.zero(target + copied, length - copied);
            }
            offset = (int) Math.min(size, offset + length);
            return true;
        }
        if ((control & DMA_WRITE) != 0) {
            return false; // no writable item
        }
        if ((control & DMA_SKIP) != 0) {
            offset = (int) Math.min(size, offset + length);
        }
        return true;
    }
}
