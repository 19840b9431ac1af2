package dev.mesovirt.vmm.firmware;

import dev.mesovirt.vmm.bus.BusDevice;
import java.nio.ByteBuffer;

/**
 * A CFI parallel NOR flash with the Intel/Sharp command set, one byte wide, as QEMU's {@code pflash_cfi01} presents
 * OVMF's code and variable store on x86 (4 KiB erase blocks). EDK2's {@code QemuFlashFvbServicesRuntimeDxe} drives
 * it with byte accesses only: Clear Status then Read Status to tell flash from RAM and ROM ({@code
 * QemuFlashDetected}: it expects the cleared status, 0x00), Byte Program (0x10, then the data byte) for each byte
 * followed by Read Array (0xFF), and Block Erase (0x20, 0xD0). Also here: Read Status (0x70), Read Identifier
 * (0x90), CFI Query (0x98), and the lock commands (0x60, then 0x01 or 0xD0), which are acknowledged and lock nothing,
 * as QEMU does. Write-to-buffer (0xE8) and anything else is an unknown command: the device returns to Read Array.
 *
 * <p>In Read Array mode the device reads as memory; the machine then maps the contents straight into the guest (a
 * read-only KVM memory slot, so that firmware code executes from it at memory speed and only writes exit) and is
 * told through {@link Listener#arrayMode} when that stops and starts being true. Every change to the contents is
 * reported through {@link Listener#changed}, for a variable store to persist it. A read-only unit (the firmware's
 * code) runs the same state machine but refuses to program or erase, with the status register's error bits set.
 *
 * <p>Accesses of more than a byte are taken as QEMU takes them on a one-byte-wide bank: the command is the low byte,
 * a program writes all the bytes, status and query reads repeat the value in every byte.
 *
 * <p>The {@link Geometry} says how the bank is built. x86's ({@link Geometry#X86}) is the one above. QEMU's arm64
 * {@code virt} board ({@link Geometry#ARM_VIRT}) has 256 KiB erase blocks on a 4-byte bank of two 16-bit chips in
 * parallel, so every command arrives once per chip (0x00FF00FF) and a status read answers for both chips (0x00800080,
 * which EDK2's NorFlashDxe tests for). EDK2 programs it with Write to Buffer (0xE8 to the block, then the word count
 * minus one per chip, that many bank-wide words, then the confirm 0xD0): the words are collected and written to the
 * contents at the confirm, as one change. Thread-safe.
 */
public final class CfiFlash implements BusDevice {
    /** The erase block size of OVMF's flash on QEMU's x86 machines. */
    public static final int BLOCK_SIZE = 4096;

    /**
     * How a flash bank is built.
     *
     * @param blockSize the erase block size in bytes (a power of two)
     * @param bankWidth the bank's data width in bytes: 1, 2, 4 or 8
     * @param deviceWidth the width of one chip in bytes (bankWidth / deviceWidth chips side by side)
     */
    public record Geometry(int blockSize, int bankWidth, int deviceWidth) {
        /** QEMU's PC machines: one byte-wide chip, 4 KiB blocks. */
        public static final Geometry X86 = new Geometry(BLOCK_SIZE, 1, 1);
        /** QEMU's arm64 virt board: two x16 chips on a 32-bit bank, 256 KiB blocks. */
        public static final Geometry ARM_VIRT = new Geometry(256 << 10, 4, 2);

        public Geometry {
            if (blockSize <= 0 || Integer.bitCount(blockSize) != 1 || Integer.bitCount(bankWidth) != 1
                    || bankWidth > 8 || deviceWidth <= 0 || bankWidth % deviceWidth != 0) {
                throw new IllegalArgumentException("bad flash geometry: block " + blockSize + ", bank width "
                        + bankWidth + ", device width " + deviceWidth);
            }
        }

        int chips() {
            return bankWidth / deviceWidth;
        }
    }

    static final int STATUS_READY = 0x80;
    static final int STATUS_ERASE_ERROR = 0x20;
    static final int STATUS_PROGRAM_ERROR = 0x10;

    /** What the device tells the machine. */
    public interface Listener {
        /** The device entered ({@code on}) or left Read Array mode: whether guest reads may go straight to memory. */
        void arrayMode(boolean on);

        /** The guest programmed or erased {@code length} bytes at {@code offset}. */
        void changed(long offset, int length);

        Listener NONE = new Listener() {
            @Override
            public void arrayMode(boolean on) {}

            @Override
            public void changed(long offset, int length) {}
        };
    }

    /** The read mode, and the second cycle a two-cycle command waits for. */
    enum Mode { READ_ARRAY, READ_STATUS, READ_ID, CFI_QUERY, PROGRAM, ERASE, LOCK, BUFFER_COUNT, BUFFER_DATA,
        BUFFER_CONFIRM }

    private final ByteBuffer contents;
    private final int size;
    private final boolean readOnly;
    private final Listener listener;
    private final byte[] cfi;
    private final Geometry geometry;
    private Mode mode = Mode.READ_ARRAY;
    private int status = STATUS_READY;
    /** Write to Buffer: where it started, the words still expected, and the words collected so far. */
    private long bufferStart;
    private int bufferWordsLeft;
    private java.io.ByteArrayOutputStream bufferData;

    /**
     * A flash over {@code contents} (its whole capacity, a positive multiple of {@link #BLOCK_SIZE}), which it reads
     * and writes in place.
     */
    public CfiFlash(ByteBuffer contents, boolean readOnly, Listener listener) {
        this(contents, readOnly, listener, Geometry.X86);
    }

    /** A flash of {@code geometry} over {@code contents}, a positive multiple of its block size. */
    public CfiFlash(ByteBuffer contents, boolean readOnly, Listener listener, Geometry geometry) {
        int capacity = contents.capacity();
        if (capacity <= 0 || capacity % geometry.blockSize() != 0) {
            throw new IllegalArgumentException("flash size " + capacity + " is not a positive multiple of "
                    + geometry.blockSize());
        }
        this.geometry = geometry;
        this.contents = contents.duplicate().clear();
        this.size = capacity;
        this.readOnly = readOnly;
        this.listener = listener;
        this.cfi = cfiTable(capacity, geometry);
    }

    public Geometry geometry() {
        return geometry;
    }

    public int size() {
        return size;
    }

    public boolean readOnly() {
        return readOnly;
    }

    synchronized Mode mode() {
        return mode;
    }

    synchronized int status() {
        return status;
    }

    /** Power-on state (a machine reset): Read Array, status ready. The contents stay. */
    public synchronized void reset() {
        status = STATUS_READY;
        enter(Mode.READ_ARRAY);
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        if (geometry.bankWidth() > 1 && mode != Mode.READ_ARRAY) {
            readWide(offset, data);
            return;
        }
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            data[i] = switch (mode) {
                case READ_ARRAY -> at >= 0 && at < size ? contents.get((int) at) : (byte) 0xFF;
                case READ_ID -> (byte) (at == 0 ? 0x89 : at == 1 ? 0x18 : 0); // Intel, a 28F128J3-like part
                case CFI_QUERY -> at >= 0 && at < cfi.length ? cfi[(int) at] : 0;
                default -> (byte) status;
            };
        }
    }

    /**
     * A status, identifier or query read on a multi-chip bank: each chip answers in its own lanes (little-endian), so
     * the value repeats every device width; query and identifier data are addressed in bank-wide words.
     */
    private void readWide(long offset, byte[] data) {
        int dw = geometry.deviceWidth();
        for (int i = 0; i < data.length; i++) {
            long at = offset + i;
            int lane = (int) Math.floorMod(at, (long) dw);
            long index = Math.floorDiv(at, (long) geometry.bankWidth());
            int value = switch (mode) {
                case READ_ID -> index == 0 ? 0x89 : index == 1 ? 0x18 : 0;
                case CFI_QUERY -> index >= 0 && index < cfi.length ? cfi[(int) index] & 0xFF : 0;
                default -> status;
            };
            data[i] = lane == 0 ? (byte) value : 0;
        }
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        if (data.length == 0 || offset < 0 || offset >= size) {
            return;
        }
        int value = data[0] & 0xFF;
        switch (mode) {
            case BUFFER_COUNT -> {
                // The count (words - 1) of one chip, in its lanes; every chip gets the same.
                long count = 0;
                for (int i = geometry.deviceWidth() - 1; i >= 0; i--) {
                    count = count << 8 | (i < data.length ? data[i] & 0xFF : 0);
                }
                long bytes = (count + 1) * geometry.bankWidth();
                if (bytes > writeBufferBytes(geometry)) {
                    status |= STATUS_PROGRAM_ERROR | STATUS_ERASE_ERROR; // a command sequence error
                    enter(Mode.READ_STATUS);
                    return;
                }
                bufferWordsLeft = (int) count + 1;
                bufferStart = -1;
                bufferData = new java.io.ByteArrayOutputStream((int) bytes);
                enter(Mode.BUFFER_DATA);
            }
            case BUFFER_DATA -> {
                if (bufferStart < 0) {
                    bufferStart = offset;
                } else if (offset != bufferStart + bufferData.size()) {
                    // Words out of sequence: the part refuses the whole buffer.
                    status |= STATUS_PROGRAM_ERROR;
                    enter(Mode.READ_STATUS);
                    return;
                }
                bufferData.write(data, 0, data.length);
                if (--bufferWordsLeft == 0) {
                    enter(Mode.BUFFER_CONFIRM);
                }
            }
            case BUFFER_CONFIRM -> {
                if (value == 0xD0) {
                    byte[] words = bufferData.toByteArray();
                    int length = (int) Math.min(words.length, size - bufferStart);
                    if (readOnly) {
                        status |= STATUS_PROGRAM_ERROR;
                    } else if (length > 0) {
                        contents.put((int) bufferStart, words, 0, length);
                        listener.changed(bufferStart, length);
                    }
                } else {
                    status |= STATUS_PROGRAM_ERROR | STATUS_ERASE_ERROR;
                }
                bufferData = null;
                status |= STATUS_READY;
                enter(Mode.READ_STATUS);
            }
            case PROGRAM -> {
                int length = (int) Math.min(data.length, size - offset);
                if (readOnly) {
                    status |= STATUS_PROGRAM_ERROR;
                } else {
                    contents.put((int) offset, data, 0, length);
                    listener.changed(offset, length);
                }
                status |= STATUS_READY;
                enter(Mode.READ_STATUS);
            }
            case ERASE -> {
                if (value == 0xD0) {
                    int blockSize = geometry.blockSize();
                    int block = (int) (offset & ~(long) (blockSize - 1));
                    if (readOnly) {
                        status |= STATUS_ERASE_ERROR;
                    } else {
                        for (int at = block; at < block + blockSize; at += ERASED.length) {
                            contents.put(at, ERASED, 0, Math.min(ERASED.length, block + blockSize - at));
                        }
                        listener.changed(block, blockSize);
                    }
                    status |= STATUS_READY;
                    enter(Mode.READ_STATUS);
                } else {
                    // Anything but the confirm aborts the erase (0xFF included): back to reading the array.
                    enter(Mode.READ_ARRAY);
                }
            }
            case LOCK -> {
                // Lock (0x01) and unlock (0xD0) confirms are acknowledged; no block is ever locked.
                status |= STATUS_READY;
                enter(value == 0x01 || value == 0xD0 ? Mode.READ_STATUS : Mode.READ_ARRAY);
            }
            default -> command(value);
        }
    }

    private void command(int value) {
        switch (value) {
            case 0x00, 0xFF -> enter(Mode.READ_ARRAY);
            case 0x10, 0x40 -> enter(Mode.PROGRAM);
            case 0x20 -> enter(Mode.ERASE);
            case 0x50 -> {
                status = 0;
                enter(Mode.READ_ARRAY);
            }
            case 0x60 -> enter(Mode.LOCK);
            case 0x70 -> enter(Mode.READ_STATUS);
            case 0x90 -> enter(Mode.READ_ID);
            case 0x98 -> enter(Mode.CFI_QUERY);
            case 0xE8 -> {
                if (geometry.bankWidth() == 1) {
                    enter(Mode.READ_ARRAY); // x86's part, as before: no buffer
                } else {
                    status |= STATUS_READY; // the buffer is free at once
                    enter(Mode.BUFFER_COUNT);
                }
            }
            default -> enter(Mode.READ_ARRAY);
        }
    }

    private void enter(Mode next) {
        boolean wasArray = mode == Mode.READ_ARRAY;
        mode = next;
        boolean isArray = next == Mode.READ_ARRAY;
        if (wasArray != isArray) {
            listener.arrayMode(isArray);
        }
    }

    private static final byte[] ERASED = filled(BLOCK_SIZE, (byte) 0xFF);

    private static byte[] filled(int n, byte b) {
        byte[] a = new byte[n];
        java.util.Arrays.fill(a, b);
        return a;
    }

    /** The bank's write buffer (what the CFI table announces; EDK2 fills 128 bytes at a time). */
    static int writeBufferBytes(Geometry g) {
        return Math.min(g.blockSize(), 2048);
    }

    /** The CFI query table (JEDEC JESD68.01) of one chip of the bank: one region of equal blocks. */
    static byte[] cfiTable(int size, Geometry g) {
        int chips = g.chips();
        int chipSize = size / chips;
        int chipBlock = g.blockSize() / chips;
        byte[] t = new byte[0x40];
        t[0x10] = 'Q';
        t[0x11] = 'R';
        t[0x12] = 'Y';
        t[0x13] = 0x01; // primary command set: Intel/Sharp extended
        t[0x15] = 0x31; // its extended table at 0x31
        t[0x1B] = 0x45; // Vcc 4.5 .. 5.5 V
        t[0x1C] = 0x55;
        t[0x1F] = 0x07; // typical byte program 2^7 us
        t[0x21] = 0x0A; // typical block erase 2^10 ms
        t[0x23] = 0x04; // maxima: 2^4 times the typical
        t[0x25] = 0x04;
        t[0x27] = (byte) (64 - Long.numberOfLeadingZeros(chipSize - 1L)); // size, log2 rounded up
        t[0x28] = (byte) (g.deviceWidth() == 1 ? 0x00 : 0x01); // x8, or x16 asynchronous interface
        if (g.bankWidth() > 1) {
            int buffer = writeBufferBytes(g) / chips;
            t[0x2A] = (byte) (31 - Integer.numberOfLeadingZeros(buffer)); // write buffer size, log2
        }
        t[0x2C] = 0x01; // one erase block region
        int blocks = chipSize / chipBlock - 1;
        t[0x2D] = (byte) blocks;
        t[0x2E] = (byte) (blocks >> 8);
        t[0x2F] = (byte) ((chipBlock / 256) & 0xFF);
        t[0x30] = (byte) ((chipBlock / 256) >> 8);
        t[0x31] = 'P';
        t[0x32] = 'R';
        t[0x33] = 'I';
        t[0x34] = '1';
        t[0x35] = '0';
        return t;
    }
}
