package dev.mesovirt.vmm.vhost.user;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.vhost.VhostException;
import dev.mesovirt.vmm.vhost.VhostMemoryRegion;
import dev.mesovirt.vmm.vhost.VringAddress;
import dev.mesovirt.vmm.vhost.user.VhostUserCodec.Header;
import dev.mesovirt.vmm.vhost.user.VhostUserCodec.Request;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The vhost-user messages byte for byte as QEMU's docs/interop/vhost-user.rst lays them out (little-endian, the
 * machine order of every Mesovirt host), and the reply decoders' refusals.
 */
class VhostUserCodecTest {
    private static byte[] hex(String text) {
        return HexFormat.of().parseHex(text.replace(" ", ""));
    }

    @Test
    void requestCodesAreTheSpecsNumbers() {
        // "Front-end message types": the ids
        int[][] expected = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {8, 6}, {9, 7}, {10, 8}, {11, 9}, {12, 10},
            {13, 11}, {14, 12}, {15, 13}, {16, 14}, {17, 15}, {18, 16}, {24, 17}, {25, 18}, {34, 19}};
        assertEquals(expected.length, Request.values().length);
        for (int[] e : expected) {
            assertEquals(e[0], Request.values()[e[1] - 1].code());
            assertEquals(Request.values()[e[1] - 1], Request.of(e[0]));
        }
        assertNull(Request.of(6), "SET_LOG_BASE is not one this front-end sends");
        assertEquals(30, VhostUserCodec.F_PROTOCOL_FEATURES);
        assertEquals(3, VhostUserCodec.PROTOCOL_F_REPLY_ACK);
        assertEquals(9, VhostUserCodec.PROTOCOL_F_CONFIG);
        assertEquals(16, VhostUserCodec.PROTOCOL_F_STATUS);
        assertTrue(Request.GET_VRING_BASE.hasReply());
        assertFalse(Request.SET_VRING_BASE.hasReply());
    }

    @Test
    void headerIsRequestFlagsSize() {
        // GET_FEATURES: request 1, flags = version 1, no payload
        assertArrayEquals(hex("01000000 01000000 00000000"), VhostUserCodec.message(Request.GET_FEATURES, 0, new byte[0]));
        // SET_FEATURES with need_reply (bit 3): flags 0x9, an 8-byte u64 payload
        assertArrayEquals(hex("02000000 09000000 08000000 0100000001000040"),
                VhostUserCodec.message(Request.SET_FEATURES, VhostUserCodec.FLAG_NEED_REPLY,
                        VhostUserCodec.u64(0x4000000100000001L)));
        Header reply = Header.decode(hex("0b000000 05000000 08000000"));
        assertEquals(new Header(11, 5, 8), reply);
        assertTrue(reply.isReply());
        assertEquals(1, reply.version());
        assertFalse(Header.decode(hex("0b000000 01000000 08000000")).isReply());
        assertEquals(-16, Header.decode(hex("01000000 05000000 f0ffffff")).size(), "sizes are u32: checked by the caller");
        assertThrows(IllegalArgumentException.class, () -> Header.decode(new byte[11]));
    }

    @Test
    void vringStateAndFdPayloads() {
        assertArrayEquals(hex("01000000 00010000"), VhostUserCodec.vringState(1, 256));
        // SET_VRING_KICK/CALL: bits 0-7 the index, bit 8 the invalid-FD flag
        assertArrayEquals(hex("0200000000000000"), VhostUserCodec.vringFd(2, false));
        assertArrayEquals(hex("0301000000000000"), VhostUserCodec.vringFd(3, true));
        assertThrows(IllegalArgumentException.class, () -> VhostUserCodec.vringFd(256, false));
        assertThrows(IllegalArgumentException.class, () -> VhostUserCodec.vringFd(-1, false));
    }

    @Test
    void ringAddressesAreStructVhostVringAddr() {
        // struct vhost_vring_addr: index, flags, desc_user_addr, used_user_addr, avail_user_addr, log_guest_addr
        // (the guest-physical addresses are not sent: vhost-user translates user addresses)
        byte[] b = VhostUserCodec.ringAddresses(new VringAddress(1, 0, 0x1000, 0x2000, 0x3000, 0x7f0000001000L,
                0x7f0000002000L, 0x7f0000003000L, 0));
        assertArrayEquals(hex("01000000 00000000 00100000007f0000 00300000007f0000 00200000007f0000 0000000000000000"), b);
        assertEquals(40, b.length);
    }

    private static VhostMemoryRegion region(long guest, long size, long user, long offset) {
        return new VhostMemoryRegion(guest, size, user, offset, java.util.OptionalInt.of(3));
    }

    @Test
    void memoryTableIsCountPaddingRegions() {
        byte[] b = VhostUserCodec.memoryTable(List.of(region(0, 0x8000000, 0x7f1200000000L, 0),
                region(0x100000000L, 0x1000000, 0x7f1300000000L, 0x8000000)));
        assertArrayEquals(hex("02000000 00000000"
                + "0000000000000000 0000000800000000 00000000127f0000 0000000000000000"
                + "0000000001000000 0000000100000000 00000000137f0000 0000000800000000"), b);
        assertThrows(IllegalArgumentException.class, () -> VhostUserCodec.memoryTable(List.of()));
        List<VhostMemoryRegion> nine = java.util.Collections.nCopies(9, region(0, 0x1000, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> VhostUserCodec.memoryTable(nine));
    }

    @Test
    void configAccessesAndTheirReplies() throws VhostException {
        assertArrayEquals(hex("04000000 02000000 00000000 abcd"), VhostUserCodec.config(4, 0, new byte[] {(byte) 0xab,
            (byte) 0xcd}));
        assertArrayEquals(new byte[] {9, 8}, VhostUserCodec.decodeConfig(4, 2, hex("04000000 02000000 00000000 0908")));
        assertThrows(VhostException.class, () -> VhostUserCodec.decodeConfig(4, 2, hex("00000000 02000000 00000000 0908")),
                "another offset than asked");
        assertThrows(VhostException.class, () -> VhostUserCodec.decodeConfig(4, 2, hex("04000000 02000000 00000000 09")),
                "short");
        assertThrows(IllegalArgumentException.class, () -> VhostUserCodec.config(0, 0, new byte[257]));
    }

    @Test
    void repliesOfTheWrongShapeAreRefused() throws VhostException {
        assertEquals(0x1122334455667788L, VhostUserCodec.decodeU64(Request.GET_FEATURES, hex("8877665544332211")));
        VhostException e = assertThrows(VhostException.class,
                () -> VhostUserCodec.decodeU64(Request.GET_FEATURES, new byte[4]));
        assertEquals("reply to GET_FEATURES has a 4-byte payload, not 8", e.getMessage());
        assertEquals(7, VhostUserCodec.decodeVringState(Request.GET_VRING_BASE, 1, hex("01000000 07000000")));
        e = assertThrows(VhostException.class,
                () -> VhostUserCodec.decodeVringState(Request.GET_VRING_BASE, 1, hex("ffffffff 07000000")));
        assertEquals("reply to GET_VRING_BASE is for queue 4294967295, not 1", e.getMessage());
    }
}
