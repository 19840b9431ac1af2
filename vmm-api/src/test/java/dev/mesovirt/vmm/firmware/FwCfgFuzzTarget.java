package dev.mesovirt.vmm.firmware;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
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
 * fw_cfg's x86 ports ({@link FwCfg}: selector, data, DMA address) as a hostile guest drives them, with the DMA
 * interface reaching a small guest RAM of two regions with a hole between them (the real {@link GuestMemory}):
 * selector writes, data reads, reads and writes of any width at any register offset, DMA address writes (the high
 * and low halves in any order, or all 64 bits), {@code FWCfgDmaAccess} structures placed anywhere (in RAM, across its
 * ends, outside it) with any control bits (read, write, skip, select of any key), lengths and addresses (outside RAM,
 * across the hole, wrapping past 2^64), stores of the guest's own into RAM, and machine resets.
 *
 * <p>The harness keeps its own model of the device, from QEMU's {@code fw_cfg_dma_transfer} and the items it built:
 * the selected key, the offset in it and the DMA address. What the guest reads is what the model says (item bytes,
 * zeros past the end or for an absent key, "QEMU CFG" at the DMA register); after every transfer the model makes, and
 * at the end of the input (which catches a transfer the model does not expect), guest RAM is byte for byte what the
 * model says: a request changes at most its control word (0, or the ERROR bit: never an
 * exception) and, for a read, exactly its target range, and nothing else (a structure whose 16 bytes are not all in RAM
 * gets ERROR in its control word if that word is in RAM, as QEMU's failed {@code dma_memory_read} does). After every
 * input: each item reads back as built (nothing is writable, through DMA or the data port), and the file directory
 * (key 0x19) is the one the harness encodes from the files it gave the builder.
 *
 * <p>There is no host-side guard around RAM to check: GuestMemory maps each region on its own and range-checks every
 * access (one outside RAM throws, which fails the input here); the guard is the 4 KiB hole, which requests straddle,
 * and the rest of RAM, which the comparison covers byte for byte.
 *
 * <p>The device and the RAM are built once; each input starts with a machine reset and RAM refilled with a pattern.
 * The input format: one operation byte, then its operands ({@link #run}).
 */
class FwCfgFuzzTarget {
    /** Guest RAM: [0, 8 KiB) and [12 KiB, 16 KiB), a 4 KiB hole between. */
    static final long A_END = 0x2000;
    static final long B_START = 0x3000;
    static final long B_END = 0x4000;
    static final int ERROR = 0x01;
    static final int READ = 0x02;
    static final int SKIP = 0x04;
    static final int SELECT = 0x08;
    static final int WRITE = 0x10;

    /** The items as built: numbers, an architecture-range item, and the files (keys from 0x20 in this order). */
    private static final Map<Integer, byte[]> NUMBERED = new TreeMap<>();
    private static final Map<String, byte[]> FILES = new LinkedHashMap<>();
    /** Every key, the signature, ID and directory included, with what it must read. */
    private static final Map<Integer, byte[]> ITEMS = new TreeMap<>();
    /** Keys a guest's select names: present ones, absent ones, the 0x4000 bit, the top. */
    private static final int[] KEYS = {FwCfg.SIGNATURE, FwCfg.ID, FwCfg.UUID, FwCfg.RAM_SIZE, FwCfg.NB_CPUS,
        FwCfg.MAX_CPUS, FwCfg.FILE_DIR, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x8003, 0x8000, 0x4001, 0x4019,
        0xFFFF};

    private static final GuestMemory MEMORY = GuestMemory.allocate(List.of(new GuestMemory.Region(0, A_END),
            new GuestMemory.Region(B_START, B_END - B_START)));
    private static final FwCfg DEVICE;

    static {
        NUMBERED.put(FwCfg.NB_CPUS, le(2, 2));
        NUMBERED.put(FwCfg.MAX_CPUS, le(4, 2));
        NUMBERED.put(FwCfg.RAM_SIZE, le(12 << 10, 8));
        NUMBERED.put(0x8003, pattern(24, 3));
        FILES.put("etc/e820", pattern(40, 5));
        FILES.put("etc/acpi/rsdp", pattern(20, 7));
        FILES.put("etc/acpi/tables", pattern(700, 11));
        FILES.put("etc/table-loader", pattern(128, 13));
        FILES.put("etc/empty", new byte[0]);
        FILES.put("x".repeat(FwCfg.FILE_NAME_LENGTH - 1), pattern(3, 17));
        FwCfg.Builder b = FwCfg.builder();
        NUMBERED.forEach(b::item);
        FILES.forEach(b::file);
        DEVICE = b.build(MEMORY);
        ITEMS.putAll(NUMBERED);
        ITEMS.put(FwCfg.SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII));
        ITEMS.put(FwCfg.ID, le(3, 4));
        ITEMS.put(FwCfg.FILE_DIR, directory());
        int key = FwCfg.FILE_FIRST;
        for (byte[] f : FILES.values()) {
            ITEMS.put(key++, f);
        }
    }

    /** What one input did, for the seeds' test: that they reach what they were written for. */
    record Stats(int dmaReads, int dmaSkips, int dmaErrors, int dataBytes, int selects) {}

    @FuzzTest(maxDuration = "5s")
    void guest(byte[] input) {
        run(input);
    }

    /**
     * One input. Each operation is a byte (taken modulo 10), then its operands: 0 select (width, key), 1 data read
     * (width), 2 read (offset, width), 3 write (offset, width, bytes), 4 DMA high half (u32), 5 DMA low half (u32,
     * starts a transfer), 6 DMA 64-bit (address), 7 request (address, control, length, target, how it is started),
     * 8 guest store (address, count, bytes), 9 reset. Addresses and lengths are decoded to land near RAM's edges often
     * ({@link #address}, {@link #length}).
     */
    static Stats run(byte[] input) {
        FuzzBytes in = new FuzzBytes(input);
        Model m = new Model();
        DEVICE.reset();
        m.fillRam();
        int dmaReads = 0;
        int dmaSkips = 0;
        int dmaErrors = 0;
        int dataBytes = 0;
        int selects = 0;
        int steps = 0;
        while (in.more() && steps++ < 256) {
            int op = in.u8() % 10;
            switch (op) {
                case 0 -> {
                    int w = in.u8();
                    int width = (w & 4) == 0 ? 2 : 1 << (w & 3); // mostly the selector's own width
                    int b = in.u8();
                    int key = b < 0x80 ? KEYS[b % KEYS.length] : in.u16();
                    byte[] v = new byte[width];
                    v[0] = (byte) key;
                    if (width > 1) {
                        v[1] = (byte) (key >> 8);
                    }
                    selects += width == 2 ? 1 : 0;
                    write(m, FwCfg.SELECTOR, v);
                }
                case 1 -> {
                    byte[] got = new byte[in.width()];
                    DEVICE.read(FwCfg.DATA, got);
                    assertArrayEquals(m.readData(got.length), got, "data port read");
                    dataBytes += got.length;
                }
                case 2 -> {
                    int at = in.u8() % FwCfg.LENGTH;
                    byte[] got = new byte[in.width()];
                    DEVICE.read(at, got);
                    assertArrayEquals(m.readRegister(at, got.length), got, "read at offset " + at);
                }
                case 3 -> {
                    int at = in.u8() % FwCfg.LENGTH;
                    write(m, at, in.bytes(in.width()));
                }
                case 4 -> write(m, FwCfg.DMA, be32(in.u32()));
                case 5 -> write(m, FwCfg.DMA + 4, be32(in.u32()));
                case 6 -> write(m, FwCfg.DMA, ByteBuffer.allocate(8).putLong(address(in)).array());
                case 7 -> {
                    long at = address(in);
                    int c = in.u8();
                    int control = (c & 0x1F) | (c & 0xE0) << 8 | KEYS[in.u8() % KEYS.length] << 16; // bits 13-15: unused
                    long length = length(in);
                    long target = address(in);
                    m.store(at, ByteBuffer.allocate(16).putInt(control).putInt((int) length).putLong(target).array());
                    switch (in.u8() % 3) {
                        case 0 -> write(m, FwCfg.DMA, ByteBuffer.allocate(8).putLong(at).array());
                        case 1 -> {
                            write(m, FwCfg.DMA, be32(at >>> 32));
                            write(m, FwCfg.DMA + 4, be32(at));
                        }
                        default -> write(m, FwCfg.DMA + 4, be32(at)); // the low half alone: the high one as it was
                    }
                    if (m.lastControl == 0 && (control & READ) != 0 && length > 0) {
                        dmaReads++;
                    } else if (m.lastControl == 0 && (control & (READ | WRITE | SKIP)) == SKIP && length > 0) {
                        dmaSkips++;
                    } else if (m.lastControl == ERROR) {
                        dmaErrors++;
                    }
                }
                case 8 -> {
                    long at = address(in);
                    m.store(at, in.bytes(in.u8() % 17));
                }
                default -> {
                    DEVICE.reset();
                    m.reset();
                }
            }
        }
        m.checkRam("at the end of the input");
        everyItemAsBuilt();
        return new Stats(dmaReads, dmaSkips, dmaErrors, dataBytes, selects);
    }

    /**
     * A register write to the device and to the model, then RAM compared with the model's if the model transferred
     * (a transfer the model does not expect shows in the comparison after the next one, or at the input's end).
     */
    private static void write(Model m, int at, byte[] value) {
        m.lastControl = -1;
        m.transferred = false;
        DEVICE.write(at, value);
        m.write(at, value);
        if (m.transferred) {
            m.checkRam("after writing " + value.length + " bytes at register offset " + at);
        }
    }

    /** An address: in or near RAM and its edges mostly, anywhere in the 64-bit space sometimes. */
    static long address(FuzzBytes in) {
        return switch (in.u8() % 5) {
            case 0, 1 -> in.u16() % 0x4400;
            case 2 -> new long[] {0, A_END, B_START, B_END}[in.u8() % 4] + (byte) in.u8();
            case 3 -> in.u64();
            default -> 0xFFFF_FFFF_FFFF_FF00L | in.u8(); // wraps with almost any length
        };
    }

    /** A DMA length: small, item-sized, or up to 4 GiB. */
    static long length(FuzzBytes in) {
        return switch (in.u8() % 4) {
            case 0 -> in.u8();
            case 1 -> in.u16() % 0x1100;
            case 2 -> in.u32();
            default -> 0xFFFF_FFFFL - in.u8();
        };
    }

    /** Each item read back through the ports, the directory included, must be as built. */
    private static void everyItemAsBuilt() {
        DEVICE.reset();
        for (int key : KEYS) {
            byte[] expected = ITEMS.getOrDefault(key, new byte[0]);
            DEVICE.write(FwCfg.SELECTOR, new byte[] {(byte) key, (byte) (key >> 8)});
            byte[] got = new byte[expected.length + 8];
            for (int i = 0; i < got.length; i += 8) {
                byte[] part = new byte[8];
                DEVICE.read(FwCfg.DATA, part);
                System.arraycopy(part, 0, got, i, Math.min(8, got.length - i));
            }
            byte[] padded = java.util.Arrays.copyOf(expected, got.length);
            assertArrayEquals(padded, got, "item 0x" + Integer.toHexString(key) + " as built, then zeros");
        }
        assertEquals(new ArrayList<>(FILES.keySet()), DEVICE.fileNames(), "the directory's names");
        DEVICE.reset();
    }

    /** The directory as docs/specs/fw_cfg.rst gives it: a count, then size, key, reserved, name, all big-endian. */
    private static byte[] directory() {
        ByteBuffer d = ByteBuffer.allocate(4 + FILES.size() * 64);
        d.putInt(FILES.size());
        int key = FwCfg.FILE_FIRST;
        for (Map.Entry<String, byte[]> f : FILES.entrySet()) {
            d.putInt(f.getValue().length).putShort((short) key++).putShort((short) 0);
            byte[] name = java.util.Arrays.copyOf(f.getKey().getBytes(StandardCharsets.US_ASCII), 56);
            d.put(name);
        }
        return d.array();
    }

    /**
     * The device as the guest must see it: QEMU's fw_cfg for DMA (the address cleared by every transfer; a request
     * that cannot be read gets ERROR in its control word when that word is in RAM; READ takes precedence over WRITE
     * over SKIP; nothing to do for a zero length; a read outside RAM is an ERROR that transfers nothing), Mesovirt's
     * for the rest (an absent key, the 0x4000 bit included, reads zeros; only two-byte selector writes select).
     */
    static final class Model {
        /** What RAM holds at the start of every input: no zeros, so that a stray zero shows. */
        private static final byte[] FILL = new byte[(int) B_END];

        static {
            for (int i = 0; i < FILL.length; i++) {
                FILL[i] = (byte) (0xA5 ^ i ^ i >> 8 | 1);
            }
        }

        final byte[] ram = new byte[(int) B_END];
        int selected = FwCfg.SIGNATURE;
        long offset;
        long dmaAddress;
        /** The control word the last transfer wrote back (-1: none, or nowhere). */
        int lastControl = -1;
        /** Whether the last register write started a transfer. */
        boolean transferred;

        void reset() {
            selected = FwCfg.SIGNATURE;
            offset = 0;
            dmaAddress = 0;
        }

        void fillRam() {
            System.arraycopy(FILL, 0, ram, 0, ram.length);
            MEMORY.write(0, ram, 0, (int) A_END);
            MEMORY.write(B_START, ram, (int) B_START, (int) (B_END - B_START));
        }

        static boolean inRam(long at, long length) {
            long end = at + length;
            if (at < 0 || length < 0 || end < at) {
                return false;
            }
            return end <= A_END || (at >= B_START && end <= B_END);
        }

        /** A guest store: each byte that is in RAM. */
        void store(long at, byte[] bytes) {
            for (int i = 0; i < bytes.length; i++) {
                long a = at + i;
                if (inRam(a, 1)) {
                    ram[(int) a] = bytes[i];
                    MEMORY.writeByte(a, bytes[i]);
                }
            }
        }

        void checkRam(String when) {
            byte[] a = MEMORY.read(0, (int) A_END);
            byte[] b = MEMORY.read(B_START, (int) (B_END - B_START));
            if (!java.util.Arrays.equals(a, 0, a.length, ram, 0, (int) A_END)
                    || !java.util.Arrays.equals(b, 0, b.length, ram, (int) B_START, (int) B_END)) {
                for (long i = 0; i < B_END; i++) {
                    if (inRam(i, 1) && MEMORY.readByte(i) != ram[(int) i]) {
                        fail("guest RAM at 0x" + Long.toHexString(i) + " is 0x"
                                + Integer.toHexString(MEMORY.readByte(i) & 0xFF) + ", the model has 0x"
                                + Integer.toHexString(ram[(int) i] & 0xFF) + " (" + when + ")");
                    }
                }
            }
        }

        byte[] item() {
            return ITEMS.get(selected);
        }

        byte[] readData(int n) {
            byte[] item = item();
            byte[] out = new byte[n];
            for (int i = 0; i < n; i++) {
                if (item != null && offset < item.length) {
                    out[i] = item[(int) offset++];
                }
            }
            return out;
        }

        byte[] readRegister(int at, int n) {
            if (at == FwCfg.DATA) {
                return readData(n);
            }
            byte[] out = new byte[n];
            if (at >= FwCfg.DMA && at + n <= FwCfg.DMA + 8) {
                byte[] sig = "QEMU CFG".getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(sig, at - FwCfg.DMA, out, 0, n);
            }
            return out;
        }

        void write(int at, byte[] v) {
            if (at == FwCfg.SELECTOR && v.length == 2) {
                selected = (v[0] & 0xFF) | (v[1] & 0xFF) << 8;
                offset = 0;
            } else if (at == FwCfg.DMA && v.length == 8) {
                dmaAddress = ByteBuffer.wrap(v).getLong();
                transfer();
            } else if (at == FwCfg.DMA && v.length == 4) {
                dmaAddress = Integer.toUnsignedLong(ByteBuffer.wrap(v).getInt()) << 32;
            } else if (at == FwCfg.DMA + 4 && v.length == 4) {
                dmaAddress |= Integer.toUnsignedLong(ByteBuffer.wrap(v).getInt());
                transfer();
            }
        }

        private void transfer() {
            transferred = true;
            long at = dmaAddress;
            dmaAddress = 0;
            if (!inRam(at, 16)) {
                if (inRam(at, 4)) {
                    putControl(at, ERROR);
                }
                return;
            }
            ByteBuffer access = ByteBuffer.wrap(ram, (int) at, 16).slice();
            int control = access.getInt(0);
            long length = Integer.toUnsignedLong(access.getInt(4));
            long target = access.getLong(8);
            if ((control & SELECT) != 0) {
                selected = control >>> 16;
                offset = 0;
            }
            byte[] item = item();
            int size = item == null ? 0 : item.length;
            int result = 0;
            if ((control & (READ | WRITE | SKIP)) == 0) {
                length = 0;
            }
            if (length > 0) {
                if ((control & READ) != 0) {
                    if (!inRam(target, length)) {
                        result = ERROR;
                    } else {
                        int copied = (int) Math.min(length, Math.max(0, size - offset));
                        if (copied > 0) {
                            System.arraycopy(item, (int) offset, ram, (int) target, copied);
                        }
                        java.util.Arrays.fill(ram, (int) target + copied, (int) (target + length), (byte) 0);
                        offset += copied;
                    }
                } else if ((control & WRITE) != 0) {
                    result = ERROR; // no item is writable
                } else {
                    offset = Math.min(size, offset + length);
                }
            }
            putControl(at, result);
        }

        private void putControl(long at, int value) {
            ByteBuffer.wrap(ram, (int) at, 4).putInt(value);
            lastControl = value;
        }
    }

    private static byte[] le(long value, int bytes) {
        return java.util.Arrays.copyOf(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array(),
                bytes);
    }

    private static byte[] be32(long value) {
        return ByteBuffer.allocate(4).putInt((int) value).array();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed + i * 31);
        }
        return b;
    }
}
