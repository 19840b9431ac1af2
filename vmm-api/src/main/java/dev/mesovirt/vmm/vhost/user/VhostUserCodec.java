package dev.mesovirt.vmm.vhost.user;

import dev.mesovirt.vmm.vhost.VhostException;
import dev.mesovirt.vmm.vhost.VhostMemoryRegion;
import dev.mesovirt.vmm.vhost.VringAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The vhost-user wire format (QEMU's docs/interop/vhost-user.rst, "Message Specification"): a 12-byte header (u32
 * request, u32 flags, u32 payload size) and a payload, all in the machine's byte order, which on every architecture
 * Mesovirt runs on is little-endian. Encoding is total; decoding checks every length and throws a
 * {@link VhostException} for a message that does not have the shape its request calls for.
 */
public final class VhostUserCodec {
    public static final int HEADER_SIZE = 12;
    /**
     * The largest payload this front-end accepts: QEMU's VhostUserMsg union is at most a few hundred bytes (the
     * memory table with 8 regions is 264, a configuration space access 268); anything bigger is a broken back-end.
     */
    public static final int MAX_PAYLOAD = 4096;
    /** VHOST_MEMORY_BASELINE_NREGIONS: the regions one SET_MEM_TABLE may carry. */
    public static final int MAX_MEMORY_REGIONS = 8;
    /** Bytes of VhostUserConfig before its payload: offset, size, flags. */
    public static final int CONFIG_HEADER_SIZE = 12;
    /** The largest configuration space access (VHOST_USER_MAX_CONFIG_SIZE). */
    public static final int MAX_CONFIG_SIZE = 256;

    /** Flags: the version in bits 0-1, the reply bit 2, need_reply bit 3. */
    public static final int VERSION = 0x1;
    public static final int VERSION_MASK = 0x3;
    public static final int FLAG_REPLY = 0x4;
    public static final int FLAG_NEED_REPLY = 0x8;
    /** SET_VRING_KICK/CALL/ERR: bits 0-7 the queue, bit 8 "no descriptor" (polling, or no interrupt). */
    public static final long VRING_INDEX_MASK = 0xff;
    public static final long VRING_NOFD = 0x100;

    /** The virtio feature bit (the unused bit 30) that says the back-end speaks GET/SET_PROTOCOL_FEATURES. */
    public static final int F_PROTOCOL_FEATURES = 30;

    /** Protocol feature bits (VHOST_USER_PROTOCOL_F_*). */
    public static final int PROTOCOL_F_MQ = 0;
    public static final int PROTOCOL_F_LOG_SHMFD = 1;
    public static final int PROTOCOL_F_RARP = 2;
    public static final int PROTOCOL_F_REPLY_ACK = 3;
    public static final int PROTOCOL_F_MTU = 4;
    public static final int PROTOCOL_F_BACKEND_REQ = 5;
    public static final int PROTOCOL_F_CROSS_ENDIAN = 6;
    public static final int PROTOCOL_F_CRYPTO_SESSION = 7;
    public static final int PROTOCOL_F_PAGEFAULT = 8;
    public static final int PROTOCOL_F_CONFIG = 9;
    public static final int PROTOCOL_F_BACKEND_SEND_FD = 10;
    public static final int PROTOCOL_F_HOST_NOTIFIER = 11;
    public static final int PROTOCOL_F_INFLIGHT_SHMFD = 12;
    public static final int PROTOCOL_F_RESET_DEVICE = 13;
    public static final int PROTOCOL_F_INBAND_NOTIFICATIONS = 14;
    public static final int PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15;
    public static final int PROTOCOL_F_STATUS = 16;

    /** Front-end requests (VHOST_USER_*), the ones this front-end sends. */
    public enum Request {
        GET_FEATURES(1),
        SET_FEATURES(2),
        SET_OWNER(3),
        RESET_OWNER(4),
        SET_MEM_TABLE(5),
        SET_VRING_NUM(8),
        SET_VRING_ADDR(9),
        SET_VRING_BASE(10),
        GET_VRING_BASE(11),
        SET_VRING_KICK(12),
        SET_VRING_CALL(13),
        SET_VRING_ERR(14),
        GET_PROTOCOL_FEATURES(15),
        SET_PROTOCOL_FEATURES(16),
        GET_QUEUE_NUM(17),
        SET_VRING_ENABLE(18),
        GET_CONFIG(24),
        SET_CONFIG(25),
        RESET_DEVICE(34);

        private final int code;

        Request(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** Whether the back-end answers it whatever REPLY_ACK says (the GET_ requests). */
        public boolean hasReply() {
            return this == GET_FEATURES || this == GET_PROTOCOL_FEATURES || this == GET_VRING_BASE
                    || this == GET_QUEUE_NUM || this == GET_CONFIG;
        }

        /** The request a code names, or null. */
        public static Request of(int code) {
            for (Request r : values()) {
                if (r.code == code) {
                    return r;
                }
            }
            return null;
        }
    }

    /** A message header. {@code size} is the payload's length. */
    public record Header(int request, int flags, int size) {
        /** Decodes the 12 bytes of a header. */
        public static Header decode(byte[] bytes) {
            if (bytes.length != HEADER_SIZE) {
                throw new IllegalArgumentException("a header has " + HEADER_SIZE + " bytes, not " + bytes.length);
            }
            ByteBuffer b = le(bytes);
            return new Header(b.getInt(0), b.getInt(4), b.getInt(8));
        }

        public byte[] encode() {
            return le(new byte[HEADER_SIZE]).putInt(request).putInt(flags).putInt(size).array();
        }

        public boolean isReply() {
            return (flags & FLAG_REPLY) != 0;
        }

        public int version() {
            return flags & VERSION_MASK;
        }
    }

    /** A region of SET_MEM_TABLE: guest address, size, user address, mmap offset, all u64. */
    static final int MEMORY_REGION_SIZE = 32;
    /**
     * SET_VRING_ADDR's payload, struct vhost_vring_addr: u32 index, u32 flags, then the descriptor table's, the used
     * ring's and the available ring's user addresses and the log's guest address as u64 (the spec's table also shows
     * a "size" column, which the structure, and every back-end, lacks).
     */
    static final int RING_ADDRESSES_SIZE = 40;

    private VhostUserCodec() {}

    /** A whole message: the header for {@code request} with {@code flags} (version added), then {@code payload}. */
    public static byte[] message(Request request, int flags, byte[] payload) {
        byte[] out = new byte[HEADER_SIZE + payload.length];
        System.arraycopy(new Header(request.code(), VERSION | flags, payload.length).encode(), 0, out, 0, HEADER_SIZE);
        System.arraycopy(payload, 0, out, HEADER_SIZE, payload.length);
        return out;
    }

    /** A u64 payload. */
    public static byte[] u64(long value) {
        return le(new byte[8]).putLong(value).array();
    }

    /** A vring state payload (struct vhost_vring_state: u32 index, u32 num). */
    public static byte[] vringState(int index, int num) {
        return le(new byte[8]).putInt(index).putInt(num).array();
    }

    /** The u64 of SET_VRING_KICK/CALL: the queue, and whether no descriptor comes with it. */
    public static byte[] vringFd(int index, boolean noFd) {
        if (index < 0 || index > VRING_INDEX_MASK) {
            throw new IllegalArgumentException("queue index " + index + " out of range 0..255");
        }
        return u64(index | (noFd ? VRING_NOFD : 0));
    }

    public static byte[] ringAddresses(VringAddress a) {
        return le(new byte[RING_ADDRESSES_SIZE]).putInt(a.queue()).putInt(a.flags()).putLong(a.descUser())
                .putLong(a.usedUser()).putLong(a.availUser()).putLong(a.logGuestAddress()).array();
    }

    /**
     * The memory table: u32 region count, u32 padding, then the regions (each region's descriptor goes with the
     * message, in the same order).
     */
    public static byte[] memoryTable(List<VhostMemoryRegion> regions) {
        if (regions.isEmpty() || regions.size() > MAX_MEMORY_REGIONS) {
            throw new IllegalArgumentException("a memory table has 1 to " + MAX_MEMORY_REGIONS + " regions, not "
                    + regions.size());
        }
        ByteBuffer b = le(new byte[8 + MEMORY_REGION_SIZE * regions.size()]).putInt(regions.size()).putInt(0);
        for (VhostMemoryRegion r : regions) {
            b.putLong(r.guestAddress()).putLong(r.size()).putLong(r.userAddress()).putLong(r.mmapOffset());
        }
        return b.array();
    }

    /** A configuration space access (VhostUserConfig): u32 offset, u32 size, u32 flags, then {@code size} bytes. */
    public static byte[] config(int offset, int flags, byte[] data) {
        if (data.length > MAX_CONFIG_SIZE) {
            throw new IllegalArgumentException("config access of " + data.length + " bytes");
        }
        return le(new byte[CONFIG_HEADER_SIZE + data.length]).putInt(offset).putInt(data.length).putInt(flags)
                .put(data).array();
    }

    /** The value of a u64 reply. */
    public static long decodeU64(Request request, byte[] payload) throws VhostException {
        requireSize(request, payload, 8);
        return le(payload).getLong(0);
    }

    /** The num of a vring state reply for queue {@code index} (GET_VRING_BASE). */
    public static int decodeVringState(Request request, int index, byte[] payload) throws VhostException {
        requireSize(request, payload, 8);
        ByteBuffer b = le(payload);
        if (b.getInt(0) != index) {
            throw new VhostException("reply to " + request + " is for queue " + Integer.toUnsignedString(b.getInt(0))
                    + ", not " + index);
        }
        return b.getInt(4);
    }

    /** The bytes of a GET_CONFIG reply, which must echo the offset and size asked for. */
    public static byte[] decodeConfig(int offset, int size, byte[] payload) throws VhostException {
        requireSize(Request.GET_CONFIG, payload, CONFIG_HEADER_SIZE + size);
        ByteBuffer b = le(payload);
        if (b.getInt(0) != offset || b.getInt(4) != size) {
            throw new VhostException("reply to GET_CONFIG is for offset " + Integer.toUnsignedString(b.getInt(0))
                    + " size " + Integer.toUnsignedString(b.getInt(4)) + ", not offset " + offset + " size " + size);
        }
        byte[] out = new byte[size];
        b.get(CONFIG_HEADER_SIZE, out);
        return out;
    }

    private static void requireSize(Request request, byte[] payload, int size) throws VhostException {
        if (payload.length != size) {
            throw new VhostException("reply to " + request + " has a " + payload.length + "-byte payload, not "
                    + size);
        }
    }

    private static ByteBuffer le(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
