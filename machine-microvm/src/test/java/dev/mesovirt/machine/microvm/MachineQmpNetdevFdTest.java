package dev.mesovirt.machine.microvm;

import static dev.mesovirt.vmm.qmp.NativeQmpClient.openCount;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.MachineQmp;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.qmp.NativeQmpClient;
import dev.mesovirt.vmm.qmp.QmpVersion;
import dev.mesovirt.vmm.sys.ErrnoException;
import dev.mesovirt.vmm.sys.Fds;
import dev.mesovirt.vmm.sys.LibC;
import dev.mesovirt.vmm.sys.Sys;
import dev.mesovirt.vmm.testing.HostRequirement;
import dev.mesovirt.vmm.virtio.NetDevice;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * netdev_add with a TAP passed by getfd (QEMU's fd=, StratoVirt's fds=) on the machine's real QMP server. The
 * machine is never started: netdev_add and netdev_del only keep backends for a later device_add (which the native
 * comparison with QEMU, ci/tests/qmp-compare.py, exercises on a running machine).
 */
@Timeout(30)
class MachineQmpNetdevFdTest {
    private static final Path TUN = Path.of("/dev/net/tun");
    private static final long TUNSETIFF = 0x400454caL;
    private static final int IFF_TUN = 0x0001;
    private static final int IFF_TAP = NetDevice.IFF_TAP;
    private static final int IFF_NO_PI = NetDevice.IFF_NO_PI;
    private static final int IFF_VNET_HDR = NetDevice.IFF_VNET_HDR;
    private static final String OK = "{\"return\": {}}";

    @TempDir
    Path dir;
    private MachineQmp qmp;
    private NativeQmpClient client;
    private final List<Integer> ours = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        // CI runs as root with /dev/net/tun: there a TAP that cannot be made fails the test rather than skipping it.
        String noTap = null;
        try {
            Fds.closeQuietly(openTun(IFF_TAP | IFF_NO_PI));
        } catch (ErrnoException e) {
            noTap = "cannot create a TAP here (needs root and " + TUN + "): " + e.getMessage();
        }
        HostRequirement.require(noTap == null, noTap);
        MachineConfig config = new MachineConfig("netdev-fd-test", Optional.empty(), 1L << 20, 1,
                Path.of("/nonexistent-kernel"), Optional.empty(), "", new SerialConfig.None(), false);
        // netdev_add/netdev_del never reach the machine, which is neither started nor given an architecture.
        LightMachine machine = new LightMachine(config, null, "/nonexistent-kvm");
        Path socket = dir.resolve("qmp.sock");
        qmp = MachineQmp.start(machine.core(), machine.deviceHotplug(), socket, new QmpVersion(7, 2, 0, "test"));
        client = NativeQmpClient.negotiated(socket);
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (qmp != null) {
            qmp.close(null);
        }
        ours.forEach(Fds::closeQuietly);
    }

    /** A TUN/TAP descriptor of a new, non-persistent interface (it goes with its last descriptor). */
    private int openTun(int flags) {
        int fd = Sys.open(TUN.toString(), LibC.O_RDWR);
        try (Memory ifr = new Memory(40)) {
            ifr.clear();
            byte[] name = "mvfd%d".getBytes(StandardCharsets.US_ASCII);
            ifr.write(0, name, 0, name.length);
            ifr.setShort(16, (short) flags);
            Sys.ioctl(fd, TUNSETIFF, ifr, "TUNSETIFF");
        } catch (ErrnoException e) {
            Fds.closeQuietly(fd);
            throw e;
        }
        ours.add(fd);
        return fd;
    }


    private String request(String json, int... fds) throws InterruptedException {
        return client.request(json, fds);
    }

    private static String getfd(String name) {
        return "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"" + name + "\"}}";
    }

    private static String netdevAdd(String id, String args) {
        return "{\"execute\": \"netdev_add\", \"arguments\": {\"id\": \"" + id + "\", \"type\": \"tap\"" + args + "}}";
    }

    private static String generic(String desc) {
        return "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" + desc + "\"}}";
    }

    private static void awaitCount(Path file, long n) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (openCount(file) != n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(n, openCount(file), file.toString());
    }

    @Test
    void fdAndFdsTakeThePassedTapOutOfTheTable() throws Exception {
        long base = openCount(TUN);
        int tap = openTun(IFF_TAP | IFF_NO_PI);
        assertEquals(generic("File descriptor named 'tapfd' has not been found"),
                request(netdevAdd("net0", ", \"fd\": \"tapfd\"")));

        assertEquals(OK, request(getfd("tapfd"), tap));
        assertEquals(base + 2, openCount(TUN));
        assertEquals(OK, request(netdevAdd("net0", ", \"fd\": \"tapfd\"")));
        assertEquals(base + 2, openCount(TUN), "the netdev holds the descriptor getfd received");
        assertEquals(generic("File descriptor named 'tapfd' has not been found"),
                request(netdevAdd("net1", ", \"fd\": \"tapfd\"")), "netdev_add consumed it, as QEMU does");

        // StratoVirt's fds= with one name; a duplicate id leaves the descriptor in the table
        int second = openTun(IFF_TAP | IFF_NO_PI);
        assertEquals(OK, request(getfd("q0"), second));
        assertEquals(generic("Duplicate ID 'net0' for netdev"), request(netdevAdd("net0", ", \"fds\": \"q0\"")));
        assertEquals(OK, request(netdevAdd("net1", ", \"fds\": \"q0\"")));
        assertEquals(base + 4, openCount(TUN));

        // netdev_del closes the passed TAP, as QEMU's netdev goes with its descriptor
        assertEquals(OK, request("{\"execute\": \"netdev_del\", \"arguments\": {\"id\": \"net0\"}}"));
        awaitCount(TUN, base + 3);
        // and the machine's QMP close closes those still held
        client.close();
        client = null;
        qmp.close(null);
        qmp = null;
        awaitCount(TUN, base + 2);
    }

    /**
     * Kata Containers opens its TAPs with IFF_VNET_HDR (netlink's Tuntap, TUNTAP_VNET_HDR | TUNTAP_NO_PI), and with
     * IFF_MULTI_QUEUE when the VMM takes queue pairs: netdev_add takes such a TAP passed with fds=.
     */
    @Test
    void katasTapsWithVnetHeadersAreTaken() throws Exception {
        long base = openCount(TUN);
        int vnet = openTun(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
        assertEquals(OK, request(getfd("fd0"), vnet));
        assertEquals(OK, request("{\"arguments\":{\"fds\":\"fd0\",\"id\":\"tap0_kata\",\"type\":\"tap\"},"
                + "\"execute\":\"netdev_add\"}"), "govmm's ExecuteNetdevAddByFds, byte for byte");
        int multi = openTun(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | NetDevice.IFF_MULTI_QUEUE);
        assertEquals(OK, request(getfd("fd1"), multi));
        assertEquals(OK, request(netdevAdd("tap1_kata", ", \"fds\": \"fd1\"")), "one queue of a multi-queue TAP");
        assertEquals(base + 4, openCount(TUN), "ours, and the netdevs' copies");
    }

    @Test
    void refusedDescriptorsAreClosedWithAClearError() throws Exception {
        Path file = Files.createFile(dir.resolve("not-a-tap"));
        int plain = Sys.open(file.toString(), LibC.O_RDONLY);
        ours.add(plain);
        assertEquals(OK, request(getfd("plain"), plain));
        String reply = request(netdevAdd("net0", ", \"fd\": \"plain\""));
        assertTrue(reply.contains("Unable to query TUNGETIFF on FD ") && reply.contains("Inappropriate ioctl for"
                + " device") && reply.contains("netdev 'net0' needs a TAP descriptor"), reply);
        awaitCount(file, 1);

        for (int flags : new int[]{IFF_TUN | IFF_NO_PI, IFF_TAP}) {
            int fd = openTun(flags);
            if ((NetDevice.tapFlags(fd) & IFF_NO_PI) != (flags & IFF_NO_PI)) {
                continue; // some kernels (this sandbox's) report IFF_NO_PI on every TAP: nothing to refuse
            }
            long mine = openCount(TUN);
            assertEquals(OK, request(getfd("odd"), fd));
            reply = request(netdevAdd("net0", ", \"fd\": \"odd\""));
            assertTrue(reply.contains("virtio-net here needs a TAP opened with IFF_TAP|IFF_NO_PI"), reply);
            awaitCount(TUN, mine);
        }

        int tap = openTun(IFF_TAP | IFF_NO_PI);
        assertEquals(OK, request(getfd("a"), tap));
        assertEquals(generic("netdev_add fds=a:b: 2 queue pairs asked for; this virtio-net has one, so give one"
                + " descriptor name"), request(netdevAdd("net0", ", \"fds\": \"a:b\"")));
        assertEquals(generic("netdev_add fd=3: descriptor numbers are refused here; pass the TAP with getfd and give"
                + " its name"), request(netdevAdd("net0", ", \"fd\": \"3\"")));
        assertEquals(generic("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are"
                + " invalid with fd="), request(netdevAdd("net0", ", \"fd\": \"a\", \"ifname\": \"tap0\"")));
        assertEquals(generic("ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid"
                + " with fds="), request(netdevAdd("net0", ", \"fds\": \"a\", \"ifname\": \"tap0\"")));
        assertEquals(generic("Parameter 'ifname' is missing"), request(netdevAdd("net0", "")));
        assertEquals(OK, request(netdevAdd("net0", ", \"fd\": \"a\"")), "the refusals left 'a' in the table");
    }
}
