package dev.mesovirt.vmm.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import dev.mesovirt.vmm.testing.HostRequirement;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TAPs virtio-net drives, opened elsewhere and passed in (as Kata Containers passes its TAPs): with or without
 * IFF_VNET_HDR, whose header size the device reads from the TAP; a TUN, a TAP with packet information or a file is
 * refused with a clear message. Frames through a vnet-header TAP: ci/tests/kata.sh (the guest pings over two).
 */
class NetDeviceTapTest {
    /** _IOW('T', 216, int), linux/if_tun.h. */
    private static final long TUNSETVNETHDRSZ = dev.mesovirt.vmm.sys.Ioctls.iow('T', 216, 4);
    private static final int IFF_TUN = 0x0001;
    private static final byte[] MAC = {0x52, 0x54, 0, 0x12, 0x34, 0x56};

    @TempDir
    Path dir;

    @BeforeEach
    void needTaps() {
        String problem = null;
        try {
            Fds.closeQuietly(openTun(NetDevice.IFF_TAP | NetDevice.IFF_NO_PI));
        } catch (ErrnoException e) {
            problem = "cannot create a TAP here (needs root and /dev/net/tun): " + e.getMessage();
        }
        HostRequirement.require(problem == null, problem);
    }

    private static int openTun(int flags) {
        int fd = Sys.open("/dev/net/tun", LibC.O_RDWR);
        try (Memory ifr = new Memory(40)) {
            ifr.clear();
            byte[] name = "mvnet%d".getBytes(StandardCharsets.US_ASCII);
            ifr.write(0, name, 0, name.length);
            ifr.setShort(16, (short) flags);
            Sys.ioctl(fd, NetDevice.TUNSETIFF, ifr, "TUNSETIFF");
        } catch (ErrnoException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
        return fd;
    }

    @Test
    void vnetHeaderTapsAreDrivenWithTheirHeaderSize() {
        NetDevice plain = new NetDevice("n0", openTun(NetDevice.IFF_TAP | NetDevice.IFF_NO_PI), MAC);
        assertEquals(0, plain.tapHeaderBytes());
        plain.close();

        NetDevice kata = new NetDevice("n1", openTun(NetDevice.IFF_TAP | NetDevice.IFF_NO_PI | NetDevice.IFF_VNET_HDR),
                MAC);
        assertEquals(10, kata.tapHeaderBytes(), "Linux's default: struct virtio_net_hdr");
        kata.close();

        int fd = openTun(NetDevice.IFF_TAP | NetDevice.IFF_NO_PI | NetDevice.IFF_VNET_HDR | NetDevice.IFF_MULTI_QUEUE);
        try (Memory size = new Memory(4)) {
            size.setInt(0, 12);
            Sys.ioctl(fd, TUNSETVNETHDRSZ, size, "TUNSETVNETHDRSZ");
        }
        NetDevice mrg = new NetDevice("n2", fd, MAC);
        assertEquals(12, mrg.tapHeaderBytes(), "a header size set by whoever opened it");
        mrg.close();
    }

    @Test
    void otherDescriptorsAreRefused() throws Exception {
        int tun = openTun(IFF_TUN | NetDevice.IFF_NO_PI);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NetDevice("n0", tun, MAC));
        assertTrue(e.getMessage().startsWith("device n0: descriptor " + tun + " is a TUN device with flags 0x"),
                e.getMessage());
        Fds.closeQuietly(tun);
        int file = Sys.open(Files.createFile(dir.resolve("file")).toString(), LibC.O_RDONLY);
        e = assertThrows(IllegalArgumentException.class, () -> new NetDevice("n1", file, MAC));
        assertTrue(e.getMessage().startsWith("device n1: descriptor " + file + " is not a TAP (TUNGETIFF"),
                e.getMessage());
        Fds.closeQuietly(file);
    }
}
