package dev.mesovirt.vmm.vhost.user;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.EventFd;
import dev.mesovirt.vmm.testing.HostRequirement;
import dev.mesovirt.vmm.vhost.VhostMemoryRegion;
import dev.mesovirt.vmm.vhost.VringAddress;
import dev.mesovirt.vmm.virtio.VirtioIds;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The front-end against the real virtiofsd (QEMU 7.2's, which Debian's qemu-system-common ships; the same one the
 * guest tests use), no KVM needed: this test plays the guest's virtio-fs driver on shared RAM, hands virtiofsd the
 * memory table and the request queue as the device does, and sends FUSE_INIT and FUSE_LOOKUP of a file in the shared
 * directory through the ring. A real back-end accepting our messages and descriptors, translating our addresses and
 * answering through the call eventfd is what no fake can show.
 */
@Timeout(60)
class VirtiofsdTest {
    static final Path VIRTIOFSD = Path.of("/usr/lib/qemu/virtiofsd");
    static final long RAM = 0x10_0000;
    static final long RAM_SIZE = 16L << 20;
    static final int QSIZE = 8;
    static final int REQUEST_QUEUE = 1;
    /** Queue layout in guest RAM: descriptor table, available ring, used ring, then the request buffers. */
    static final long DESC = RAM + 0x1000;
    static final long AVAIL = RAM + 0x2000;
    static final long USED = RAM + 0x3000;
    static final long BUFFERS = RAM + 0x10000;
    static final int FUSE_LOOKUP = 1;
    static final int FUSE_INIT = 26;

    @TempDir
    Path dir;

    @Test
    void virtiofsdAnswersFuseRequestsThroughTheRing() throws Exception {
        HostRequirement.require(Files.isExecutable(VIRTIOFSD), VIRTIOFSD + " is missing (Debian's qemu-system-common)");
        HostRequirement.require("root".equals(System.getProperty("user.name")), "virtiofsd needs root");
        Path share = Files.createDirectory(dir.resolve("share"));
        String content = "written on the host\n".repeat(3);
        Files.writeString(share.resolve("host.txt"), content);
        Path socket = dir.resolve("vfs.sock");
        Process virtiofsd = new ProcessBuilder(VIRTIOFSD.toString(), "--socket-path=" + socket, "-o",
                "source=" + share, "-o", "sandbox=chroot", "-o", "cache=none")
                .redirectErrorStream(true).redirectOutput(dir.resolve("virtiofsd.log").toFile()).start();
        try (GuestMemory ram = GuestMemory.allocateShared(List.of(new GuestMemory.Region(RAM, RAM_SIZE)), true);
                EventFd kick = new EventFd(true);
                EventFd call = new EventFd(true)) {
            // virtiofsd creates the file at bind, a moment before it listens.
            VhostUserFrontend f = new VhostUserFrontend(socket.toString(), FakeBackend.connectOnceListening(socket),
                    Duration.ofSeconds(10));
            try {
                long features = f.negotiate(2);
                assertTrue((features & (1L << VirtioIds.F_VERSION_1)) != 0, "virtiofsd offers VERSION_1");
                assertTrue(f.hasProtocolFeature(VhostUserCodec.PROTOCOL_F_REPLY_ACK), "and REPLY_ACK, which we use");
                f.setOwner();
                f.setFeatures(1L << VirtioIds.F_VERSION_1);
                List<VhostMemoryRegion> table = new ArrayList<>();
                for (GuestMemory.Mapping m : ram.mappings()) {
                    table.add(new VhostMemoryRegion(m.guestAddress(), m.size(), m.hostAddress(), m.fdOffset(),
                            OptionalInt.of(m.fd())));
                }
                f.setMemTable(table);
                f.setVringNum(REQUEST_QUEUE, QSIZE);
                f.setVringBase(REQUEST_QUEUE, 0);
                f.setVringAddr(new VringAddress(REQUEST_QUEUE, 0, DESC, AVAIL, USED, ram.hostAddress(DESC),
                        ram.hostAddress(AVAIL), ram.hostAddress(USED), 0));
                f.setVringKick(REQUEST_QUEUE, kick);
                f.setVringCall(REQUEST_QUEUE, call);
                f.setVringEnable(REQUEST_QUEUE, true);

                Ring ring = new Ring(ram, kick, call);
                ByteBuffer init = ring.request(1, FUSE_INIT, 1, le(16).putInt(7).putInt(31).putInt(0).putInt(0), 16 + 64);
                assertEquals(0, init.getInt(4), "FUSE_INIT succeeded (error 0)");
                assertEquals(7, init.getInt(16), "FUSE protocol major 7");
                byte[] name = "host.txt\0".getBytes(StandardCharsets.UTF_8);
                ByteBuffer entry = ring.request(2, FUSE_LOOKUP, 1, le(name.length).put(name), 16 + 128);
                assertEquals(0, entry.getInt(4), "FUSE_LOOKUP of host.txt succeeded");
                assertEquals(content.length(), entry.getLong(16 + 48), "its attributes: the host file's size");
                byte[] missing = "nope\0".getBytes(StandardCharsets.UTF_8);
                ByteBuffer none = ring.request(3, FUSE_LOOKUP, 1, le(missing.length).put(missing), 16 + 128);
                assertEquals(-2, none.getInt(4), "a missing file: -ENOENT");
                assertEquals(3, f.getVringBase(REQUEST_QUEUE), "three requests taken: the next available index is 3");
            } finally {
                f.close();
            }
            assertTrue(virtiofsd.waitFor(10, TimeUnit.SECONDS), "virtiofsd exits when the front-end hangs up");
        } finally {
            virtiofsd.destroyForcibly();
            virtiofsd.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The guest driver's side of one split virtqueue: one request at a time, a readable and a writable buffer. */
    private record Ring(GuestMemory ram, EventFd kick, EventFd call) {
        /**
         * Sends FUSE request {@code opcode} with {@code body} as request {@code unique} (from 1: 0 is FUSE's
         * notifications); returns the reply (fuse_out_header first).
         */
        ByteBuffer request(int unique, int opcode, long nodeId, ByteBuffer body, int replySize)
                throws InterruptedException, IOException {
            int inLength = 40 + body.position();
            ByteBuffer in = le(inLength).putInt(inLength).putInt(opcode).putLong(unique).putLong(nodeId).putInt(0)
                    .putInt(0).putInt(0).putShort((short) 0).putShort((short) 0).put(body.array(), 0, body.position());
            long inAddress = BUFFERS + unique * 0x2000L;
            assertTrue(unique > 0);
            long outAddress = inAddress + 0x1000;
            ram.write(inAddress, in.array());
            ram.zero(outAddress, replySize);
            // descriptors 0 and 1: the request (readable), then the reply buffer (device-writable)
            descriptor(0, inAddress, inLength, 1 /* NEXT */, 1);
            descriptor(1, outAddress, replySize, 2 /* WRITE */, 0);
            short availIdx = ram.readShort(AVAIL + 2);
            ram.writeShort(AVAIL + 4 + 2L * (availIdx % QSIZE), (short) 0);
            ram.writeShort(AVAIL + 2, (short) (availIdx + 1));
            kick.signal();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (ram.readShort(USED + 2) != (short) (availIdx + 1)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("virtiofsd did not answer FUSE opcode " + opcode);
                }
                Thread.sleep(5);
            }
            assertTrue(call.consume() > 0, "virtiofsd signalled the call eventfd");
            int usedLength = ram.readInt(USED + 4 + 8L * (availIdx % QSIZE) + 4);
            ByteBuffer reply = ByteBuffer.wrap(ram.read(outAddress, replySize)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(usedLength, reply.getInt(0), "the used length is the reply's fuse_out_header.len");
            return reply;
        }

        private void descriptor(int index, long address, int length, int flags, int next) {
            long at = DESC + 16L * index;
            ram.writeLong(at, address);
            ram.writeInt(at + 8, length);
            ram.writeShort(at + 12, (short) flags);
            ram.writeShort(at + 14, (short) next);
        }
    }
}
