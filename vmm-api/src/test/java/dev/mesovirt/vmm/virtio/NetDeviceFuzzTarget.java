package dev.mesovirt.vmm.virtio;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.sun.jna.Memory;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import dev.mesovirt.vmm.testing.HostRequirement;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * virtio-net's transmit and receive queues (virtio-net header plus frame, chains of any shape, MAC and status in
 * the configuration space) on a real TAP with a vnet header, behind virtio-mmio, driven as a guest would. The TAP
 * is down, so transmitted frames are refused by the kernel: the device's handling of that is part of the target.
 */
class NetDeviceFuzzTarget {
    private static final byte[] MAC = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
    private static GuestMemory mem;
    private static MmioTransport transport;

    @BeforeAll
    static void setUp() {
        int fd;
        try {
            fd = Sys.open("/dev/net/tun", LibC.O_RDWR);
        } catch (ErrnoException e) {
            HostRequirement.require(false, "cannot open /dev/net/tun (needs root): " + e.getMessage());
            return;
        }
        try (Memory ifr = new Memory(40)) {
            ifr.clear();
            byte[] name = "mvfuzz%d".getBytes(StandardCharsets.US_ASCII);
            ifr.write(0, name, 0, name.length);
            ifr.setShort(16, (short) (NetDevice.IFF_TAP | NetDevice.IFF_NO_PI | NetDevice.IFF_VNET_HDR));
            Sys.ioctl(fd, NetDevice.TUNSETIFF, ifr, "TUNSETIFF");
        } catch (ErrnoException e) {
            Fds.closeQuietly(fd);
            HostRequirement.require(false, "cannot create a TAP (needs root): " + e.getMessage());
            return;
        }
        mem = VirtioFuzzing.memory();
        transport = new MmioTransport("net", new NetDevice("net", fd, MAC), mem, () -> { }, q -> { });
    }

    @AfterAll
    static void tearDown() {
        if (transport != null) {
            transport.device().close();
            mem.close();
        }
    }

    @FuzzTest(maxDuration = "5s")
    void guest(FuzzedDataProvider data) {
        VirtioFuzzing.drive(transport, mem, data);
    }
}
