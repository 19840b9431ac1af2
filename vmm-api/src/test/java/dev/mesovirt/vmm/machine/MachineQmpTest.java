package dev.mesovirt.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.memory.GuestMemory;
import dev.mesovirt.vmm.qmp.NativeQmpClient;
import dev.mesovirt.vmm.qmp.QmpArguments;
import dev.mesovirt.vmm.qmp.QmpException;
import dev.mesovirt.vmm.qmp.QmpVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The machine-neutral QMP command set on a real socket, for a machine that is never started (so no KVM is needed):
 * which commands and events there are, what the queries take from the machine and its architecture rather than from
 * a machine type or ISA of their own, the backend tables, and what device_add asks of the machine's
 * {@link DeviceHotplug}. Running machines: MachineQmpNetdevFdTest and ci/tests/qmp-compare.py (against QEMU).
 */
@Timeout(30)
class MachineQmpTest {
    private static final String OK = "{\"return\": {}}";

    @TempDir
    Path dir;
    private final List<MachineQmp> servers = new ArrayList<>();
    private final List<NativeQmpClient> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (NativeQmpClient c : clients) {
            c.close();
        }
        servers.forEach(s -> s.close(null));
    }

    @Test
    void theCommandsAndEventsOfEveryMachine() throws Exception {
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        assertEquals(List.of("blockdev-add", "blockdev-del", "closefd", "cont", "device_add", "device_del", "getfd",
                "migrate", "netdev_add", "netdev_del", "qmp_capabilities", "query-block", "query-chardev",
                "query-commands", "query-cpus", "query-cpus-fast", "query-events", "query-hotpluggable-cpus", "query-kvm",
                "query-machines", "query-migrate", "query-status", "query-target", "query-version", "quit", "stop", "system_powerdown",
                "system_reset"), names(c.request("{\"execute\": \"query-commands\"}")));
        assertEquals(List.of("DEVICE_DELETED", "POWERDOWN", "RESET", "RESUME", "SHUTDOWN", "STOP"),
                names(c.request("{\"execute\": \"query-events\"}")));
    }

    @Test
    void migrateTakesOnlyAFileUriAndQueryMigrateHasNoStatusBeforeTheFirst() throws Exception {
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        assertEquals("{\"return\": {}}", c.request("{\"execute\": \"query-migrate\"}"));
        assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"migrate: only uri file:DIR is supported,"
                + " not tcp:127.0.0.1:4444\"}}",
                c.request("{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"tcp:127.0.0.1:4444\"}}"));
        assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"migrate: only uri file:DIR is supported,"
                + " not file:\"}}", c.request("{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"file:\"}}"));
        assertEquals("{\"error\": {\"class\": \"GenericError\", \"desc\": \"the machine is still starting\"}}",
                c.request("{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"file:" + dir + "/snap\"}}"));
    }

    @Test
    void queryMachinesNamesTheMachineThatRunsAsItsArchitectureCallsIt() throws Exception {
        NativeQmpClient micro = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        assertEquals("{\"return\": [{\"hotpluggable-cpus\": false, \"name\": \"microvm\","
                + " \"numa-mem-supported\": false, \"default-cpu-type\": \"host-test64-cpu\", \"is-default\": true,"
                + " \"cpu-max\": 254, \"deprecated\": false, \"default-ram-id\": \"microvm.ram\"}]}",
                micro.request("{\"execute\": \"query-machines\"}"));
        NativeQmpClient standard = serve(machine(MachineType.STANDARD, config()), new RecordingHotplug());
        JsonObject m = reply(standard.request("{\"execute\": \"query-machines\"}")).getAsJsonArray().get(0)
                .getAsJsonObject();
        assertEquals("q35", m.get("name").getAsString());
        assertEquals("q35.ram", m.get("default-ram-id").getAsString());
    }

    @Test
    void cpuQueriesTakeTheIsaFromTheArchitecture() throws Exception {
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config().withVcpus(2)), new RecordingHotplug());
        assertEquals("{\"return\": {\"arch\": \"test64\"}}", c.request("{\"execute\": \"query-target\"}"));
        JsonArray cpus = reply(c.request("{\"execute\": \"query-cpus\"}")).getAsJsonArray();
        assertEquals(2, cpus.size());
        for (JsonElement cpu : cpus) {
            assertEquals("testcpu", cpu.getAsJsonObject().get("arch").getAsString());
            assertEquals(0, cpu.getAsJsonObject().get("thread_id").getAsInt(), "no vCPU thread before start");
        }
        JsonArray fast = reply(c.request("{\"execute\": \"query-cpus-fast\"}")).getAsJsonArray();
        assertEquals("test64", fast.get(1).getAsJsonObject().get("target").getAsString());
        assertEquals(1, fast.get(1).getAsJsonObject().get("cpu-index").getAsInt());
        JsonArray hot = reply(c.request("{\"execute\": \"query-hotpluggable-cpus\"}")).getAsJsonArray();
        assertEquals("host-test64-cpu", hot.get(0).getAsJsonObject().get("type").getAsString());
    }

    @Test
    void beforeTheMachineRunsQueriesSayPrelaunchAndActionsAreRefused() throws Exception {
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        assertEquals("{\"return\": {\"status\": \"prelaunch\", \"singlestep\": false, \"running\": false}}",
                c.request("{\"execute\": \"query-status\"}"));
        for (String command : List.of("stop", "cont", "system_reset", "system_powerdown")) {
            assertEquals(generic("the machine is still starting"), c.request("{\"execute\": \"" + command + "\"}"),
                    command);
        }
        assertEquals(generic("the machine is still starting"),
                c.request("{\"execute\": \"device_del\", \"arguments\": {\"id\": \"d0\"}}"));
    }

    @Test
    void deviceAddReadsTheMachinesPlacementArgumentsBeforeTheCommonOnes() throws Exception {
        RecordingHotplug hotplug = new RecordingHotplug();
        NativeQmpClient c = serve(machine(MachineType.STANDARD, config()), hotplug);
        assertEquals(generic("Parameter 'driver' is missing"),
                c.request("{\"execute\": \"device_add\", \"arguments\": {\"id\": \"d0\"}}"));
        assertEquals(generic("Parameter 'bus' is missing"), c.request(deviceAdd("")), "the machine's own argument");
        assertEquals(generic("Invalid parameter type for 'drive', expected: string"),
                c.request(deviceAdd(", \"bus\": \"pcie.1\", \"drive\": 5")), "then the common ones");
        assertEquals(generic("Parameter 'bogus' is unexpected"), c.request(deviceAdd(", \"bus\": \"pcie.1\","
                + " \"bogus\": 1")), "the placement arguments are declared: only the others are unexpected");
        assertEquals(generic("the machine is still starting"), c.request(deviceAdd(", \"bus\": \"pcie.1\"")));
        assertEquals(List.of("pcie.1", "pcie.1", "pcie.1"), hotplug.placedOn);
        assertEquals(List.of(), hotplug.added, "nothing reaches the machine before it runs");
    }

    @Test
    void drivesFromTheCommandLineAndBlockdevAddAreOneTable() throws Exception {
        Path image = Files.write(dir.resolve("d0.img"), new byte[4096]);
        Path hot = Files.write(dir.resolve("hot.img"), new byte[512]);
        MachineConfig config = config().withDevices(List.of(new VirtioConfig.Block("d0", image, true, false,
                Optional.empty())));
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config), new RecordingHotplug());
        assertEquals(OK, c.request("{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": \"hot0\", \"file\":"
                + " {\"driver\": \"file\", \"filename\": \"" + hot + "\"}}}"));
        JsonArray blocks = reply(c.request("{\"execute\": \"query-block\"}")).getAsJsonArray();
        assertEquals(2, blocks.size());
        JsonObject d0 = blocks.get(0).getAsJsonObject();
        assertEquals("d0", d0.get("device").getAsString());
        assertEquals("d0", d0.get("qdev").getAsString(), "a command-line drive is its device's");
        assertTrue(d0.getAsJsonObject("inserted").get("ro").getAsBoolean());
        assertEquals(4096, d0.getAsJsonObject("inserted").getAsJsonObject("image").get("virtual-size").getAsLong());
        assertEquals("", blocks.get(1).getAsJsonObject().get("qdev").getAsString(), "hot0 is free");
        assertEquals(generic("Node 'd0' is busy: block device is in use by device 'd0'"),
                c.request("{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"d0\"}}"));
        assertEquals(OK, c.request("{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"hot0\"}}"));
    }

    @Test
    void queryChardevListsTheMonitorTheUartAndTheConsoles() throws Exception {
        Path log = dir.resolve("serial.log");
        Path console = dir.resolve("con.sock");
        MachineConfig config = config().withSerial(new SerialConfig.File(log))
                .withDevices(List.of(new VirtioConfig.Console("con0", Optional.of(console))));
        Path socket = dir.resolve("qmp-chardev.sock");
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config), new RecordingHotplug(), socket);
        assertEquals("{\"return\": [{\"frontend-open\": true, \"filename\": \"unix:" + socket + ",server=on\","
                + " \"label\": \"compat_monitor0\"}, {\"frontend-open\": true, \"filename\": \"file:" + log + "\","
                + " \"label\": \"serial0\"}, {\"frontend-open\": true, \"filename\": \"unix:" + console
                + ",server=on\", \"label\": \"con0\"}]}", c.request("{\"execute\": \"query-chardev\"}"));
    }

    /**
     * Kata Containers' blockdev-add (govmm's ExecuteBlockdevAdd: aio native, no cache member) opens the image with
     * O_DIRECT, StratoVirt's default; QEMU's aio values and StratoVirt's "off" are taken, others refused; native with
     * an explicit cache.direct=false is QEMU's error; no-flush is kept.
     */
    @Test
    void blockdevAddTakesKatasRequestAndQemusAioAndCacheMembers() throws Exception {
        Path image = directCapableImage();
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        assertEquals(OK, c.request("{\"arguments\":{\"driver\":\"raw\",\"file\":{\"aio\":\"native\",\"driver\":"
                + "\"file\",\"filename\":\"" + image + "\"},\"node-name\":\"drive-kata\",\"read-only\":false},"
                + "\"execute\":\"blockdev-add\"}"), "govmm's bytes: keys sorted, arguments first");
        int n = 0;
        for (String aio : List.of("threads", "io_uring", "off")) {
            assertEquals(OK, c.request(blockdevAdd("d" + n++, "\"driver\": \"file\", \"filename\": \"" + image
                    + "\", \"aio\": \"" + aio + "\"", "")), aio);
        }
        assertEquals(OK, c.request(blockdevAdd("nf", "\"filename\": \"" + image + "\"",
                ", \"cache\": {\"direct\": true, \"no-flush\": true}")));
        JsonArray blocks = reply(c.request("{\"execute\": \"query-block\"}")).getAsJsonArray();
        Map<String, JsonObject> cache = new java.util.HashMap<>();
        blocks.forEach(b -> cache.put(b.getAsJsonObject().get("device").getAsString(),
                b.getAsJsonObject().getAsJsonObject("inserted").getAsJsonObject("cache")));
        assertTrue(cache.get("drive-kata").get("direct").getAsBoolean(), "native without cache: O_DIRECT");
        assertEquals(false, cache.get("d0").get("direct").getAsBoolean(), "threads: QEMU's default, buffered");
        assertTrue(cache.get("nf").get("no-flush").getAsBoolean());
        assertEquals(false, cache.get("d0").get("no-flush").getAsBoolean());
        assertEquals(generic("Parameter 'file.aio' does not accept value 'posix'"), c.request(blockdevAdd("x",
                "\"filename\": \"" + image + "\", \"aio\": \"posix\"", "")));
        assertEquals(generic("aio=native was specified, but it requires cache.direct=on, which was not specified."),
                c.request(blockdevAdd("x", "\"filename\": \"" + image + "\", \"aio\": \"native\"",
                        ", \"cache\": {\"direct\": false}")));
        assertEquals(generic("Parameter 'file.driver' expects 'file' or 'host_device' (raw images on a regular file"
                + " or a block device)"), c.request(blockdevAdd("x", "\"driver\": \"nbd\", \"filename\": \"" + image
                + "\"", "")));
        assertEquals(generic("Parameter 'file.locking' is unexpected"), c.request(blockdevAdd("x", "\"filename\": \""
                + image + "\", \"locking\": \"off\"", "")), "members neither QEMU's clients here nor StratoVirt send");
    }

    /** QEMU's file-posix checks: the file driver takes a regular file, host_device a block device. */
    @Test
    void blockdevAddChecksTheFileTypeAsQemuDoes() throws Exception {
        Path image = Files.write(dir.resolve("plain.img"), new byte[4096]);
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        assertEquals(generic("'file' driver requires '/dev/null' to be a regular file"),
                c.request(blockdevAdd("x", "\"driver\": \"file\", \"filename\": \"/dev/null\"", "")));
        assertEquals(generic("'host_device' driver requires '" + image + "' to be either a character or block device"),
                c.request(blockdevAdd("x", "\"driver\": \"host_device\", \"filename\": \"" + image + "\"", "")));
        assertEquals(generic("'host_device' driver requires '/dev/null' to be a block device (a character device"
                + " cannot be a disk here)"),
                c.request(blockdevAdd("x", "\"driver\": \"host_device\", \"filename\": \"/dev/null\"", "")));
        assertEquals(generic("Could not open '" + dir.resolve("none") + "': No such file or directory"),
                c.request(blockdevAdd("x", "\"driver\": \"host_device\", \"filename\": \"" + dir.resolve("none")
                        + "\"", "")));
    }

    /**
     * device_add takes what Kata Containers sends (romfile "", logical_block_size, physical_block_size; share-rw and
     * num-queues as booleans, numbers or the strings older releases sent; mq and vectors for a NIC): a machine that
     * does not run refuses only after reading them all. Members of the other device kind stay unexpected.
     */
    @Test
    void deviceAddTakesKatasMembersForEachDeviceKind() throws Exception {
        NativeQmpClient c = serve(machine(MachineType.MICROVM, config()), new RecordingHotplug());
        String starting = generic("the machine is still starting");
        // (This machine's placement takes bus; the microVM's takes Kata's "addr":"1" instead.)
        assertEquals(starting, c.request("{\"arguments\":{\"bus\":\"pcie.1\",\"driver\":"
                + "\"virtio-blk-test\",\"drive\":\"drive-1\",\"id\":\"drive-1\",\"logical_block_size\":512,"
                + "\"physical_block_size\":4096,\"romfile\":\"\"},\"execute\":\"device_add\"}"),
                "Kata 3.30's request");
        for (String members : List.of("\"share-rw\": true, \"num-queues\": 1", "\"share-rw\": \"on\","
                + " \"num-queues\": \"4\"", "\"share-rw\": false, \"num-queues\": 1024")) {
            assertEquals(starting, c.request(deviceAdd(", \"bus\": \"pcie.1\", " + members)), members);
        }
        assertEquals(generic("romfile 'efi-virtio.rom': option ROMs are not supported (there is no firmware to run"
                + " them); give romfile \\\"\\\" or leave it out"),
                c.request(deviceAdd(", \"bus\": \"pcie.1\", \"romfile\": \"efi-virtio.rom\"")));
        assertEquals(generic("num-queues property must be larger than 0 and at most 1024"),
                c.request(deviceAdd(", \"bus\": \"pcie.1\", \"num-queues\": 0")));
        assertEquals(generic("Parameter 'share-rw' expects 'on' or 'off'"),
                c.request(deviceAdd(", \"bus\": \"pcie.1\", \"share-rw\": \"shared\"")));
        assertEquals(generic("Property logical_block_size doesn't take value '1000', it's not a power of 2"),
                c.request(deviceAdd(", \"bus\": \"pcie.1\", \"logical_block_size\": 1000")));
        assertEquals(generic("logical_block_size > physical_block_size not supported"), c.request(deviceAdd(
                ", \"bus\": \"pcie.1\", \"logical_block_size\": 4096, \"physical_block_size\": \"512\"")));
        assertEquals(generic("Parameter 'mac' is unexpected"),
                c.request(deviceAdd(", \"bus\": \"pcie.1\", \"mac\": \"52:54:00:12:34:56\"")));
        assertEquals(generic("Parameter 'mq' is unexpected"), c.request(deviceAdd(", \"bus\": \"pcie.1\", \"mq\": true")));

        String net = "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-test\", \"id\":"
                + " \"virtio-tap1\", \"bus\": \"pcie.1\", \"netdev\": \"tap1\", \"mac\": \"02:42:0a:00:03:0f\"";
        assertEquals(starting, c.request(net + ", \"romfile\": \"\", \"mq\": true, \"vectors\": 6}}"),
                "govmm's ExecuteNetPCIDeviceAdd");
        assertEquals(starting, c.request(net + ", \"mq\": \"on\", \"vectors\": \"6\"}}"), "StratoVirt's strings");
        assertEquals(generic("Parameter 'vectors' expects a non-negative integer"),
                c.request(net + ", \"vectors\": -1}}"));
        assertEquals(generic("Parameter 'drive' is unexpected"), c.request(net + ", \"drive\": \"d\"}}"));
        assertEquals(generic("Parameter 'logical_block_size' is unexpected"),
                c.request(net + ", \"logical_block_size\": 512}}"));
    }

    /** An image on a file system that takes O_DIRECT: the build's directory (the temporary one may be a tmpfs). */
    private Path directCapableImage() throws java.io.IOException {
        Path base = Path.of("target").toAbsolutePath();
        Files.createDirectories(base);
        Path image = Files.createTempFile(base, "qmp-direct", ".img");
        image.toFile().deleteOnExit();
        Files.write(image, new byte[4096]);
        return image;
    }

    private static String blockdevAdd(String node, String file, String more) {
        return "{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": \"" + node + "\", \"file\": {"
                + file + "}" + more + "}}";
    }

    private NativeQmpClient serve(Machine machine, DeviceHotplug hotplug) throws InterruptedException {
        return serve(machine, hotplug, dir.resolve("qmp" + servers.size() + ".sock"));
    }

    private NativeQmpClient serve(Machine machine, DeviceHotplug hotplug, Path socket) throws InterruptedException {
        servers.add(MachineQmp.start(machine, hotplug, socket, new QmpVersion(7, 2, 0, "test")));
        NativeQmpClient client = NativeQmpClient.negotiated(socket);
        clients.add(client);
        return client;
    }

    private static MachineConfig config() {
        return new MachineConfig("qmp-test", Optional.empty(), 64L << 20, 1, Path.of("/nonexistent-kernel"),
                Optional.empty(), "", new SerialConfig.None(), false);
    }

    /** A machine that is never started. */
    private static Machine machine(MachineType type, MachineConfig config) {
        return new Machine(config, new TestArchitecture(), type, "/nonexistent-kvm", new UnbuiltBoard());
    }

    private static String deviceAdd(String more) {
        return "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-blk-test\", \"id\": \"d1\"" + more
                + "}}";
    }

    private static String generic(String desc) {
        return "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" + desc + "\"}}";
    }

    private static JsonElement reply(String line) {
        return JsonParser.parseString(line).getAsJsonObject().get("return");
    }

    private static List<String> names(String line) {
        List<String> out = new ArrayList<>();
        reply(line).getAsJsonArray().forEach(e -> out.add(e.getAsJsonObject().get("name").getAsString()));
        return out;
    }

    /** A hot-plug that places devices on a "bus" (as a PCI machine would) and records what it is asked. */
    private static final class RecordingHotplug implements DeviceHotplug {
        final List<String> placedOn = new ArrayList<>();
        final List<VirtioConfig> added = new ArrayList<>();

        @Override
        public List<Driver> drivers() {
            return List.of(new Driver("virtio-blk-test", List.of(), Kind.BLOCK),
                    new Driver("virtio-net-test", List.of(), Kind.NET));
        }

        @Override
        public DevicePlacement placement(QmpArguments args) throws QmpException {
            String bus = args.requiredString("bus");
            placedOn.add(bus);
            return new DevicePlacement.Pci(bus, 0, 0);
        }

        @Override
        public void add(VirtioConfig device) {
            added.add(device);
        }

        @Override
        public void remove(String id, Consumer<VirtioConfig> removed) {
            throw new AssertionError("not running: nothing to remove");
        }

        @Override
        public List<VirtioConfig> devices() {
            return added;
        }
    }

    /** The board of a machine that never starts. */
    private static final class UnbuiltBoard implements Board {
        @Override
        public void build(BoardContext context, List<DeviceDescription> described) {
            throw new AssertionError("never started");
        }

        @Override
        public void reattach(BoardContext context, List<DeviceDescription> described) {
            throw new AssertionError("never started");
        }

        @Override
        public void afterIrqChip(BoardContext context) {
            throw new AssertionError("never started");
        }

        @Override
        public void close() {
        }
    }

    /** An ISA for the queries: names and machine types only (the machine never starts). */
    private static final class TestArchitecture implements Architecture {
        @Override
        public String name() {
            return "test64";
        }

        @Override
        public String qmpCpuArch() {
            return "testcpu";
        }

        @Override
        public Map<String, MachineType> machineTypes() {
            return Map.of("microvm", MachineType.MICROVM, "q35", MachineType.STANDARD);
        }

        @Override
        public boolean runsOn(String osArch) {
            return false;
        }

        @Override
        public String serialConsoleName() {
            return "ttyS0";
        }

        @Override
        public List<KvmCapability> requiredCapabilities() {
            return List.of();
        }

        @Override
        public MemoryLayout memoryLayout(MachineType type, long ramBytes, int vcpus) {
            throw new AssertionError("never started");
        }

        @Override
        public long vmType(Kvm kvm, MemoryLayout layout) {
            throw new AssertionError("never started");
        }

        @Override
        public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
            throw new AssertionError("never started");
        }

        @Override
        public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
            throw new AssertionError("never started");
        }

        @Override
        public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) {
            throw new AssertionError("never started");
        }

        @Override
        public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
            throw new AssertionError("never started");
        }
    }
}
