package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * virtio-fs on the command line: -chardev socket (client or server) + -device vhost-user-fs-device / -pci, and guest
 * RAM made shareable by QEMU's memory-backend-memfd (through -machine memory-backend= or -numa node,memdev=) or
 * StratoVirt's mem-share=on; every mistake one line.
 */
class VirtioFsOptionsTest {
    @TempDir
    Path dir;
    private Path kernel;
    private String sock;
    private final CommandLine parser = new CommandLine(() -> 8L << 30);

    @BeforeEach
    void files() throws IOException {
        kernel = Files.write(dir.resolve("bzImage"), new byte[] {1, 2, 3});
        sock = dir.resolve("vfs.sock").toString();
    }

    private List<String> args(String... more) {
        List<String> args = new ArrayList<>(List.of("-kernel", kernel.toString()));
        args.addAll(Arrays.asList(more));
        return args;
    }

    private MachineConfig config(String... more) throws UsageException {
        return ((ParseResult.Run) parser.parse(args(more))).config();
    }

    private String error(String... more) {
        return assertThrows(UsageException.class, () -> parser.parse(args(more))).getMessage();
    }

    private static VirtioConfig.Fs fs(MachineConfig c) {
        return (VirtioConfig.Fs) c.devices().getFirst();
    }

    @Test
    void qemusMicrovmLine() throws UsageException {
        MachineConfig c = config("-m", "512M", "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
                "-machine", "microvm,memory-backend=mem", "-chardev", "socket,id=char0,path=" + sock,
                "-device", "vhost-user-fs-device,id=fs0,chardev=char0,tag=myfs,queue-size=1024");
        assertTrue(c.sharedMemory());
        assertEquals(512L << 20, c.memoryBytes());
        assertEquals(new VirtioConfig.Fs("fs0", Path.of(sock), false, "myfs", 1024, 1, Optional.empty()), fs(c));
    }

    @Test
    void stratovirtsLineAsKataWritesIt() throws UsageException {
        // Kata's StratoVirt driver: mem-share=on, and a server,nowait chardev (virtiofsd already listens there).
        MachineConfig c = config("-machine", "type=microvm,dump-guest-core=off,mem-share=on",
                "-chardev", "socket,id=virtio_fs,path=" + sock + ",server,nowait",
                "-device", "vhost-user-fs-device,chardev=virtio_fs,tag=kataShared,id=virtio-fs0");
        assertTrue(c.sharedMemory());
        assertFalse(c.dumpGuestCore());
        assertEquals(new VirtioConfig.Fs("virtio-fs0", Path.of(sock), true, "kataShared", 128, 1, Optional.empty()),
                fs(c));
    }

    @Test
    void numaNodeMemdevAndTheBackendsSizeWithoutM() throws UsageException {
        MachineConfig c = config("-object", "memory-backend-memfd,id=m0,size=1G,share=on", "-numa", "node,memdev=m0",
                "-chardev", "socket,id=c,path=" + sock + ",server=on", "-device",
                "vhost-user-fs-device,id=fs0,chardev=c,tag=t,num-request-queues=2");
        assertEquals(1L << 30, c.memoryBytes(), "the size comes from the backend");
        assertTrue(c.sharedMemory());
        assertTrue(fs(c).server());
        assertEquals(2, fs(c).requestQueues());
        assertFalse(config("-object", "memory-backend-memfd,id=m0,size=256M", "-machine", "memory-backend=m0")
                .sharedMemory(), "share defaults to off, as in QEMU");
        assertFalse(config().sharedMemory());
    }

    @Test
    void q35TakesThePciDeviceOnABus() throws UsageException {
        MachineConfig c = config("-machine", "q35,mem-share=on", "-chardev", "socket,id=c,path=" + sock,
                "-device", "vhost-user-fs-pci,id=fs0,chardev=c,tag=t,bus=pcie.0,addr=0x7");
        assertEquals(Optional.of(DevicePlacement.Pci.parse("pcie.0", "0x7")), fs(c).placement());
        assertEquals("-device vhost-user-fs-pci,id=fs0,chardev=c,tag=t: vhost-user-fs-pci is a PCI device, for"
                + " -machine q35 or virt, not -machine microvm; it takes vhost-user-fs-device",
                error("-machine", "mem-share=on", "-chardev", "socket,id=c,path=" + sock,
                        "-device", "vhost-user-fs-pci,id=fs0,chardev=c,tag=t"));
    }

    @Test
    void withoutSharedRamItIsOneClearError() {
        String message = error("-chardev", "socket,id=c,path=" + sock, "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t");
        assertEquals("-device fs0 (vhost-user-fs): a vhost-user device needs guest RAM its back-end can map: add"
                + " -object memory-backend-memfd,id=mem,size=SIZE,share=on with -machine memory-backend=mem (or -numa"
                + " node,memdev=mem), or -machine mem-share=on", message);
        assertTrue(error("-object", "memory-backend-memfd,id=m,size=256M,share=off", "-machine", "memory-backend=m",
                "-chardev", "socket,id=c,path=" + sock, "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t")
                .startsWith("-device fs0 (vhost-user-fs): a vhost-user device needs guest RAM"));
    }

    @Test
    void badOptionsAreOneLineEach() {
        String shared = "mem-share=on";
        String chardev = "socket,id=c,path=" + sock;
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c: missing tag=",
                error("-machine", shared, "-chardev", chardev, "-device", "vhost-user-fs-device,id=fs0,chardev=c"));
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=x,tag=t: no -chardev with id 'x'",
                error("-machine", shared, "-chardev", chardev, "-device", "vhost-user-fs-device,id=fs0,chardev=x,tag=t"));
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c,tag=t,queue-size=100: queue-size 100 is not a power"
                + " of two from 1 to 1024", error("-machine", shared, "-chardev", chardev,
                        "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t,queue-size=100"));
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c,tag=t,queue-size=2048: queue-size 2048 is not a"
                + " power of two from 1 to 1024", error("-machine", shared, "-chardev", chardev,
                        "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t,queue-size=2048"));
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c,tag=t,queue-size=big: queue-size=big is not a"
                + " number", error("-machine", shared, "-chardev", chardev,
                        "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t,queue-size=big"));
        String longTag = "x".repeat(37);
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c,tag=" + longTag + ": the tag must have 1 to 36"
                + " bytes, not 37", error("-machine", shared, "-chardev", chardev,
                        "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=" + longTag));
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c,tag=t,num-request-queues=0: num-request-queues 0"
                + " is not from 1 to 1023", error("-machine", shared, "-chardev", chardev,
                        "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t,num-request-queues=0"));
        assertTrue(error("-machine", shared, "-chardev", chardev, "-device", "vhost-user-fs-device,id=fs0,chardev=c,"
                + "tag=t,cache-size=2G").contains("unknown property 'cache-size'"));
        assertEquals("-device vhost-user-fs-device,id=fs1,chardev=c,tag=u: chardev 'c' is already used by another"
                + " device", error("-machine", shared, "-chardev", chardev,
                        "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t",
                        "-device", "vhost-user-fs-device,id=fs1,chardev=c,tag=u"));
        assertEquals("-device vhost-user-fs-device,id=fs0,chardev=c,tag=t: chardev 'c' must be a socket"
                + " (-chardev socket,id=c,path=PATH): the vhost-user back-end's", error("-machine", shared,
                        "-serial", "none", "-chardev", "stdio,id=c", "-device", "vhost-user-fs-device,id=fs0,chardev=c,tag=t"));
        // a console's socket still has to listen
        assertEquals("-chardev socket,id=c,path=" + sock + ": a virtconsole's socket must be server,nowait",
                error("-chardev", chardev, "-device", "virtio-serial-device,id=vs", "-device", "virtconsole,id=con,chardev=c"));
    }

    @Test
    void memoryBackendMistakes() {
        assertEquals("-machine memory-backend=m: no -object memory-backend-memfd with id 'm'",
                error("-machine", "memory-backend=m"));
        assertEquals("-machine memory-backend=m: memory backend 'm' has 256 MiB, -m asks for 512 MiB (they must be"
                + " equal)", error("-m", "512", "-object", "memory-backend-memfd,id=m,size=256M,share=on",
                        "-machine", "memory-backend=m"));
        assertEquals("-object memory-backend-memfd,id=m,size=lots: invalid size 'lots' (a number of MiB, or a number"
                + " with suffix K, M, G or T)", error("-object", "memory-backend-memfd,id=m,size=lots"));
        assertEquals("-object memory-backend-memfd,id=m,size=16M,share=on: too little memory (the minimum is 64 MiB)",
                error("-object", "memory-backend-memfd,id=m,size=16M,share=on", "-machine", "memory-backend=m"));
        assertEquals("-object memory-backend-memfd,id=m,size=256M,share=yes: share must be on or off, not 'yes'",
                error("-object", "memory-backend-memfd,id=m,size=256M,share=yes"));
        assertEquals("-object memory-backend-memfd,id=r,size=256M: duplicate object id 'r'",
                error("-object", "rng-random,id=r,filename=/dev/urandom", "-object", "memory-backend-memfd,id=r,size=256M"));
        assertEquals("-object memory-backend-file,id=m,size=256M,mem-path=/dev/shm: unknown object type"
                + " 'memory-backend-file' (supported: rng-random or memory-backend-memfd)",
                error("-object", "memory-backend-file,id=m,size=256M,mem-path=/dev/shm"));
        assertEquals("-numa node,memdev=m,nodeid=1: only one NUMA node (nodeid=0) is supported",
                error("-object", "memory-backend-memfd,id=m,size=256M", "-numa", "node,memdev=m,nodeid=1"));
        assertEquals("-numa node,memdev=n: memdev=n is not the -machine memory-backend=m",
                error("-object", "memory-backend-memfd,id=m,size=256M", "-machine", "memory-backend=m",
                        "-numa", "node,memdev=n"));
        assertEquals("-numa cpu,node-id=0: only -numa node,memdev=ID is supported", error("-numa", "cpu,node-id=0"));
        assertEquals("-machine mem-share=maybe: mem-share must be on or off, not 'maybe'",
                error("-machine", "mem-share=maybe"));
    }

    @Test
    void theMachineConfigRefusesAVhostUserDeviceOnPrivateRamToo() {
        // A program building the configuration itself gets the same refusal as the command line.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MachineConfig.of(kernel, Optional.empty(), "").withDevices(List.of(
                        new VirtioConfig.Fs("fs0", Path.of(sock), false, "t", 128, 1, Optional.empty()))));
        assertTrue(e.getMessage().startsWith("device fs0: a vhost-user device needs guest RAM its back-end can map"),
                e.getMessage());
    }
}
