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
 * a program writes all the bytes, status and query reads repeat the value in every byte. Thread-safe.
 */
public final class CfiFlash implements BusDevice {
    /** The erase block size of OVMF's flash on QEMU's x86 machines. */
    public static final int BLOCK_SIZE = 4096;

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
    enum Mode { READ_ARRAY, READ_STATUS, READ_ID, CFI_QUERY, PROGRAM, ERASE, LOCK }

    private final ByteBuffer contents;
    private final int size;
    private final boolean readOnly;
    private final Listener listener;
    private final byte[] cfi;
    private Mode mode = Mode.READ_ARRAY;
    private int status = STATUS_READY;

    /**
     * A flash over {@code contents} (its whole capacity, a positive multiple of {@link #BLOCK_SIZE}), which it reads
     * and writes in place.
     */
    public CfiFlash(ByteBuffer contents, boolean readOnly, Listener listener) {
        int capacity = contents.capacity();
        if (capacity <= 0 || capacity % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("flash size " + capacity + " is not a positive multiple of " + BLOCK_SIZE);
        }
        this.contents = contents.duplicate().clear();
        this.size = capacity;
        this.readOnly = readOnly;
        this.listener = listener;
        this.cfi = cfiTable(capacity);
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

    @Override
    public synchronized void write(long offset, byte[] data) {
        if (data.length == 0 || offset < 0 || offset >= size) {
            return;
        }
        int value = data[0] & 0xFF;
        switch (mode) {
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
                    int block = (int) (offset & ~(long) (BLOCK_SIZE - 1));
                    if (readOnly) {
                        status |= STATUS_ERASE_ERROR;
                    } else {
                        contents.put(block, ERASED, 0, BLOCK_SIZE);
                        listener.changed(block, BLOCK_SIZE);
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

    /** The CFI query table (JEDEC JESD68.01) of a byte-wide part with one region of 4 KiB blocks. */
    static byte[] cfiTable(int size) {
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
        t[0x27] = (byte) (64 - Long.numberOfLeadingZeros(size - 1L)); // size, log2 rounded up
        t[0x28] = 0x00; // x8 asynchronous interface
        t[0x2C] = 0x01; // one erase block region
        int blocks = size / BLOCK_SIZE - 1;
        t[0x2D] = (byte) blocks;
        t[0x2E] = (byte) (blocks >> 8);
        t[0x2F] = (byte) ((BLOCK_SIZE / 256) & 0xFF);
        t[0x30] = (byte) ((BLOCK_SIZE / 256) >> 8);
        t[0x31] = 'P';
        t[0x32] = 'R';
        t[0x33] = 'I';
        t[0x34] = '1';
        t[0x35] = '0';
        return t;
    }
}
