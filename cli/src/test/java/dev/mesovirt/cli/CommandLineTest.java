package dev.mesovirt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mesovirt.machine.standard.PciTopology;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.machine.DevicePlacement;
import dev.mesovirt.vmm.machine.MacAddress;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.VirtioConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CommandLineTest {
    private static final long HOST = 8L << 30;

    @TempDir
    Path dir;
    private Path kernel;
    private Path initrd;
    private final CommandLine parser = new CommandLine(() -> HOST);

    @BeforeEach
    void files() throws IOException {
        kernel = Files.write(dir.resolve("bzImage"), new byte[] {1, 2, 3});
        initrd = Files.write(dir.resolve("initrd.img"), new byte[] {4, 5});
    }

    /** Parses "-kernel KERNEL" plus {@code more}; the result must be a Run. */
    private ParseResult.Run run(String... more) throws UsageException {
        List<String> args = new ArrayList<>(List.of("-kernel", kernel.toString()));
        args.addAll(Arrays.asList(more));
        return assertInstanceOf(ParseResult.Run.class, parser.parse(args));
    }

    private MachineConfig config(String... more) throws UsageException {
        return run(more).config();
    }

    /** Parses exactly {@code args}, which must fail; returns the message. */
    private String error(String... args) {
        return assertThrows(UsageException.class, () -> parser.parse(args)).getMessage();
    }

    /** Parses "-kernel KERNEL" plus {@code more}, which must fail; returns the message. */
    private String errorWithKernel(String... more) {
        List<String> args = new ArrayList<>(List.of("-kernel", kernel.toString()));
        args.addAll(Arrays.asList(more));
        return error(args.toArray(new String[0]));
    }

    private static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), () -> "expected '" + expected + "' in: " + actual);
    }

    // ---- defaults and every option ----

    @Test
    void defaults() throws UsageException {
        ParseResult.Run run = run();
        MachineConfig c = run.config();
        assertEquals(new MachineConfig("mesovirt", Optional.empty(), 256L << 20, 1, kernel, Optional.empty(), "",
                new SerialConfig.Stdio(), true), c);
        assertEquals(Optional.empty(), run.logFile());
        assertFalse(run.verboseLog());
    }

    @Test
    void everyOption() throws UsageException {
        Path log = dir.resolve("vmm.log");
        Path serialLog = dir.resolve("serial.log");
        ParseResult.Run run = assertInstanceOf(ParseResult.Run.class, parser.parse(
                "-machine", "type=microvm,dump-guest-core=off", "-kernel", kernel.toString(), "-initrd",
                initrd.toString(), "-append", "console=ttyS0 reboot=k panic=1", "-m", "1G", "-smp", "cpus=4",
                "-serial", "file:" + serialLog, "-name", "vm1", "-uuid", "123e4567-e89b-12d3-a456-426614174000",
                "-D", log.toString(), "-disable-seccomp"));
        assertEquals(new MachineConfig("vm1", Optional.of(UUID.fromString("123e4567-e89b-12d3-a456-426614174000")),
                1L << 30, 4, kernel, Optional.of(initrd), "console=ttyS0 reboot=k panic=1",
                new SerialConfig.File(serialLog), false), run.config());
        assertEquals(Optional.of(log), run.logFile());
        assertTrue(run.verboseLog());
    }

    @Test
    void doubleDashSpellings() throws UsageException {
        ParseResult r = parser.parse("--machine", "microvm", "--kernel", kernel.toString(), "--initrd",
                initrd.toString(), "--append", "quiet", "--m", "512", "--smp", "2", "--serial", "none", "--name", "x",
                "--uuid", "123e4567-e89b-12d3-a456-426614174000", "--D", "--disable-seccomp");
        MachineConfig c = assertInstanceOf(ParseResult.Run.class, r).config();
        assertEquals(512L << 20, c.memoryBytes());
        assertEquals(2, c.vcpus());
        assertEquals(new SerialConfig.None(), c.serial());
        assertEquals("quiet", c.commandLine());
        assertEquals(Optional.of(initrd), c.initrd());
    }

    // ---- -machine ----

    @ParameterizedTest
    @ValueSource(strings = {"-machine", "--machine", "-M", "--M"})
    void machineSpellings(String option) throws UsageException {
        assertTrue(config(option, "microvm").dumpGuestCore());
    }

    @Test
    void machineProperties() throws UsageException {
        assertTrue(config("-machine", "type=microvm").dumpGuestCore());
        assertTrue(config("-machine", "microvm,dump-guest-core=on").dumpGuestCore());
        assertFalse(config("-machine", "microvm,dump-guest-core=off").dumpGuestCore());
        assertFalse(config("-M", "dump-guest-core=off").dumpGuestCore());
    }

    @ParameterizedTest
    @ValueSource(strings = {"pc", "Virt", "none", "type=pc-q35-7.2", "Microvm", "Q35"})
    void unsupportedMachineType(String value) {
        String message = errorWithKernel("-machine", value);
        assertContains("is not supported (supported: microvm, q35 or virt)", message);
        assertContains("-machine " + value, message);
    }

    @Test
    void theStandardMachine() throws UsageException {
        assertEquals(MachineType.MICROVM, run().machineType());
        assertEquals(MachineType.STANDARD, run("-machine", "q35").machineType());
        assertEquals(MachineType.STANDARD, run("-M", "type=q35,dump-guest-core=off").machineType());
        assertEquals("q35", run("-M", "type=q35,dump-guest-core=off").machineName());
        assertEquals(MachineType.STANDARD, run("-machine", "virt").machineType());
        assertEquals("virt", run("-machine", "virt").machineName());
        assertEquals("microvm", run().machineName());
        assertFalse(run("-M", "type=q35,dump-guest-core=off").config().dumpGuestCore());
        assertEquals(MachineConfig.HotplugSlots.NONE, run("-machine", "q35", "-qmp", "unix:" + dir.resolve("q.sock")
                + ",server,nowait").config().hotplug(), "q35 hot-plugs into root ports, not reserved virtio-mmio slots");
    }

    /** virt's acpi=off is its device tree; acpi=on is refused with the reason, as is acpi= on other machines. */
    @Test
    void acpiOfTheVirtMachine() throws UsageException {
        assertEquals("virt", run("-machine", "virt,acpi=off").machineName());
        assertContains("acpi=on needs UEFI firmware", errorWithKernel("-machine", "virt,acpi=on"));
        assertContains("acpi must be on or off, not 'auto'", errorWithKernel("-machine", "virt,acpi=auto"));
        assertContains("acpi= is an option of -machine virt", errorWithKernel("-machine", "q35,acpi=on"));
        assertContains("acpi= is an option of -machine virt", errorWithKernel("-machine", "acpi=off"));
    }

    @Test
    void badMachineProperties() {
        assertContains("dump-guest-core must be on or off, not 'yes'",
                errorWithKernel("-machine", "microvm,dump-guest-core=yes"));
        assertContains("unknown property 'accel' (expected type, dump-guest-core, mem-share, memory-backend or acpi)",
                errorWithKernel("-machine", "microvm,accel=kvm"));
        assertContains("'type' given twice", errorWithKernel("-machine", "microvm,type=microvm"));
        assertContains("'dump-guest-core' is not of the form key=value",
                errorWithKernel("-machine", "microvm,dump-guest-core"));
        assertContains("empty item", errorWithKernel("-machine", "microvm,"));
        assertContains("empty item", errorWithKernel("-machine", ""));
        assertContains("empty value for 'type'", errorWithKernel("-machine", "type="));
    }

    // ---- -kernel, -initrd ----

    @Test
    void missingKernel() {
        assertEquals("no kernel: -kernel FILE is required (try --help)", error());
        assertContains("-kernel FILE is required", error("-m", "256", "-initrd", initrd.toString()));
    }

    @Test
    void kernelErrors() throws IOException {
        assertEquals("-kernel /nonexistent/bzImage: no such file", error("-kernel", "/nonexistent/bzImage"));
        assertEquals("-kernel " + dir + ": is a directory, not a file", error("-kernel", dir.toString()));
        assertEquals("-kernel /dev/null: not a regular file", error("-kernel", "/dev/null"));
        assertEquals("-kernel: empty file name", error("-kernel", ""));
        assertContains("invalid path", error("-kernel", "a\0b"));
        assertEquals("-kernel " + kernel + "/x: no such file", error("-kernel", kernel + "/x"));
        Path link = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("missing"));
        assertEquals("-kernel " + link + ": no such file", error("-kernel", link.toString()));
    }

    @Test
    void kernelThroughSymlink() throws IOException, UsageException {
        Path link = Files.createSymbolicLink(dir.resolve("vmlinuz"), kernel);
        assertEquals(link, assertInstanceOf(ParseResult.Run.class, parser.parse("-kernel", link.toString()))
                .config().kernel().orElseThrow());
    }

    @Test
    void unreadableKernel() throws IOException {
        assumeTrue(!"root".equals(System.getProperty("user.name")), "root reads everything");
        Files.setPosixFilePermissions(kernel, PosixFilePermissions.fromString("-w-------"));
        assertEquals("-kernel " + kernel + ": permission denied", error("-kernel", kernel.toString()));
    }

    @Test
    void initrdErrors() {
        assertEquals("-initrd /nonexistent: no such file", errorWithKernel("-initrd", "/nonexistent"));
        assertEquals("-initrd " + dir + ": is a directory, not a file", errorWithKernel("-initrd", dir.toString()));
    }

    // ---- -append ----

    @Test
    void append() throws UsageException {
        assertEquals("", config("-append", "").commandLine());
        assertEquals("root=/dev/vda rw init=/bin/sh -- -x", config("-append", "root=/dev/vda rw init=/bin/sh -- -x")
                .commandLine());
        assertEquals("--help", config("-append", "--help").commandLine());
    }

    // ---- -m ----

    @ParameterizedTest
    @CsvSource({
        "256, 256",
        "64, 64",
        "256M, 256",
        "512m, 512",
        "1G, 1024",
        "1g, 1024",
        "65536K, 64",
        "65536k, 64",
        "268435456B, 256",
        "size=2G, 2048",
        "size=300, 300",
        "8192, 8192",
        "8G, 8192",
    })
    void memorySizes(String value, long mib) throws UsageException {
        assertEquals(mib << 20, config("-m", value).memoryBytes());
    }

    @ParameterizedTest
    @ValueSource(strings = {"12X", "M", "1.5G", "1GB", "1 G", " 1G", "0x100", "+256", "1e3", "256MiB", "G1"})
    void badSizeSuffix(String value) {
        assertContains("-m " + value + ": invalid size", errorWithKernel("-m", value));
    }

    @ParameterizedTest
    @ValueSource(strings = {"32", "0", "63", "65535K", "1K", "0G", "size=32M"})
    void tooLittleMemory(String value) {
        assertEquals("-m " + value + ": too little memory (the minimum is 64 MiB)", errorWithKernel("-m", value));
    }

    @ParameterizedTest
    @ValueSource(strings = {"8193", "9G", "100T", "99999999999999999999", "9999999999999999T"})
    void moreThanTheHost(String value) {
        assertEquals("-m " + value + ": more memory than the host has (8192 MiB)", errorWithKernel("-m", value));
    }

    @Test
    void moreThanTheRealHost() {
        long host = HostMemory.totalBytes();
        assumeTrue(host > 0, "no /proc/meminfo");
        String message = assertThrows(UsageException.class,
                () -> new CommandLine().parse("-kernel", kernel.toString(), "-m", "100T")).getMessage();
        assertEquals("-m 100T: more memory than the host has (" + (host >> 20) + " MiB)", message);
    }

    @Test
    void unknownHostMemoryMeansNoLimit() throws UsageException {
        MachineConfig c = assertInstanceOf(ParseResult.Run.class,
                new CommandLine(() -> -1).parse("-kernel", kernel.toString(), "-m", "100T")).config();
        assertEquals(100L << 40, c.memoryBytes());
        assertContains("more memory than the host has", assertThrows(UsageException.class,
                () -> new CommandLine(() -> -1).parse("-kernel", kernel.toString(), "-m", "99999999999999999999"))
                .getMessage());
    }

    @Test
    void memoryNotWholeMiB() {
        assertEquals("-m 65537K: not a whole number of MiB", errorWithKernel("-m", "65537K"));
        assertEquals("-m 67108865B: not a whole number of MiB", errorWithKernel("-m", "67108865B"));
    }

    @Test
    void memoryProperties() {
        assertContains("unknown property 'maxmem' (expected size)", errorWithKernel("-m", "1G,maxmem=2G"));
        assertContains("'1G' is not of the form key=value", errorWithKernel("-m", "size=1G,1G"));
        assertContains("empty value for 'size'", errorWithKernel("-m", "size="));
        assertContains("empty item", errorWithKernel("-m", ""));
    }

    // ---- -smp ----

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "1; 1",
        "254; 254",
        "cpus=2; 2",
        "4,maxcpus=4; 4",
        "maxcpus=3; 3",
        "4,sockets=2,cores=2; 4",
        "4,sockets=1,cores=2,threads=2; 4",
        "4,cores=2; 4",
        "6,threads=3; 6",
        "sockets=2,cores=2,threads=2; 8",
        "cores=4; 4",
        "maxcpus=4,sockets=4; 4",
        "007; 7",
    })
    void smp(String value, int vcpus) throws UsageException {
        assertEquals(vcpus, config("-smp", value).vcpus());
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "0; -smp 0: cpus must be between 1 and 254",
        "255; -smp 255: cpus must be between 1 and 254",
        "cpus=0; -smp cpus=0: cpus must be between 1 and 254",
        "garbage; -smp garbage: cpus 'garbage' is not a number",
        "-1; -smp -1: cpus '-1' is not a number",
        "2.5; -smp 2.5: cpus '2.5' is not a number",
        "9999999999; -smp 9999999999: cpus '9999999999' is not a number",
        "2,maxcpus=4; -smp 2,maxcpus=4: maxcpus must equal cpus (CPU hotplug is not supported)",
        "4,sockets=3; -smp 4,sockets=3: sockets*cores*threads = 3 does not match 4 vCPUs",
        "5,cores=2; -smp 5,cores=2: sockets*cores*threads = 4 does not match 5 vCPUs",
        "2,cores=4; -smp 2,cores=4: sockets*cores*threads = 4 does not match 2 vCPUs",
        "sockets=16,cores=16; -smp sockets=16,cores=16: sockets*cores*threads = 256 vCPUs, more than the maximum of 254",
        "cores=255; -smp cores=255: cores must be between 1 and 254",
        "2,dies=1; -smp 2,dies=1: unknown property 'dies' (expected cpus, maxcpus, sockets, cores or threads)",
        "cpus=2,cpus=2; -smp cpus=2,cpus=2: 'cpus' given twice",
        "cpus=; -smp cpus=: empty value for 'cpus'",
        "2,4; -smp 2,4: '4' is not of the form key=value",
    })
    void badSmp(String value, String message) {
        assertEquals(message, errorWithKernel("-smp", value));
    }

    @Test
    void emptySmp() {
        assertEquals("-smp : empty item", errorWithKernel("-smp", ""));
    }

    // ---- -serial ----

    @Test
    void serial() throws UsageException {
        assertEquals(new SerialConfig.Stdio(), config("-serial", "stdio").serial());
        assertEquals(new SerialConfig.None(), config("-serial", "none").serial());
        assertEquals(new SerialConfig.File(Path.of("/tmp/a,b:c.log")), config("-serial", "file:/tmp/a,b:c.log").serial());
        assertEquals(new SerialConfig.File(Path.of("rel.log")), config("-serial", "file:rel.log").serial());
    }

    @ParameterizedTest
    @ValueSource(strings = {"pty", "vc", "null", "tcp:127.0.0.1:4444,server", "unix:/tmp/s", "chardev:c0", "pipe:x"})
    void unsupportedSerial(String value) {
        assertContains("' is not supported (use stdio, file:PATH or none)", errorWithKernel("-serial", value));
    }

    /** Found by CommandLineFuzzTarget: a -chardev without a backend was a NullPointerException. */
    @ParameterizedTest
    @ValueSource(strings = {"id=c0", "id=c0,path=/tmp/s,server,nowait"})
    void chardevWithoutBackend(String value) {
        assertContains("missing the backend (supported: socket, stdio)", errorWithKernel("-chardev", value));
    }

    /** Found by CommandLineFuzzTarget: a -netdev without a type was a NullPointerException. */
    @Test
    void netdevWithoutType() {
        assertContains("-netdev id=n0,ifname=tap0: missing the type (supported: tap)", errorWithKernel("-netdev", "id=n0,ifname=tap0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"foo", "", "STDIO", "file", "stdio:x", "none,x"})
    void unknownSerial(String value) {
        assertEquals("-serial " + value + ": unknown serial backend (use stdio, file:PATH or none)",
                errorWithKernel("-serial", value));
    }

    @Test
    void badSerialFile() {
        assertEquals("-serial file:: missing file name after 'file:'", errorWithKernel("-serial", "file:"));
        assertEquals("-serial file:" + dir + ": is a directory, not a file", errorWithKernel("-serial", "file:" + dir));
        assertContains("invalid path", errorWithKernel("-serial", "file:a\0b"));
    }

    // ---- -name, -uuid ----

    @Test
    void name() throws UsageException {
        assertEquals("my vm,1", config("-name", "my vm,1").name());
        assertEquals("-name: the name must not be empty", errorWithKernel("-name", ""));
    }

    @Test
    void uuid() throws UsageException {
        assertEquals(Optional.of(UUID.fromString("123E4567-E89B-12D3-A456-426614174000")),
                config("-uuid", "123E4567-E89B-12D3-A456-426614174000").uuid());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "1-2-3-4-5", "not-a-uuid", "123e4567-e89b-12d3-a456-42661417400g",
        "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-4266141740001", "{123e4567-e89b-12d3-a456-426614174000}"})
    void badUuid(String value) {
        assertContains("-uuid " + value + ": not a UUID", errorWithKernel("-uuid", value));
    }

    // ---- -D ----

    @Test
    void logOption() throws UsageException {
        ParseResult.Run toStderrAtEnd = run("-D");
        assertTrue(toStderrAtEnd.verboseLog());
        assertEquals(Optional.empty(), toStderrAtEnd.logFile());

        ParseResult.Run beforeOption = assertInstanceOf(ParseResult.Run.class,
                parser.parse("-D", "-kernel", kernel.toString()));
        assertTrue(beforeOption.verboseLog());
        assertEquals(Optional.empty(), beforeOption.logFile());

        ParseResult.Run toFile = run("-D", "vmm.log", "-m", "128");
        assertEquals(Optional.of(Path.of("vmm.log")), toFile.logFile());
        assertEquals(128L << 20, toFile.config().memoryBytes());

        assertEquals("-D " + dir + ": is a directory, not a file", errorWithKernel("-D", dir.toString()));
        assertEquals("option -D given more than once", errorWithKernel("-D", "-D"));
    }

    // ---- flags, help, version ----

    @Test
    void disableSeccompIsAcceptedAndRepeatable() throws UsageException {
        assertEquals(run().config(), config("-disable-seccomp", "--disable-seccomp"));
        assertFalse(run("-disable-seccomp").seccomp());
        assertTrue(run().seccomp());
    }

    @ParameterizedTest
    @ValueSource(strings = {"-h", "--help", "-help", "--h"})
    void help(String option) throws UsageException {
        assertInstanceOf(ParseResult.Help.class, parser.parse(option));
        // Values are checked after the syntax pass, so help wins over a bad -kernel.
        assertInstanceOf(ParseResult.Help.class, parser.parse("-kernel", "/nonexistent", "-m", "1", option));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-V", "--version", "-version"})
    void version(String option) throws UsageException {
        assertInstanceOf(ParseResult.Version.class, parser.parse(option));
        assertInstanceOf(ParseResult.Version.class, parser.parse("-smp", "0", option, "-bogus"));
    }

    @Test
    void helpTextListsEveryOption() {
        String help = CommandLine.helpText();
        for (Opt opt : Opt.values()) {
            assertContains("-" + opt.name, help);
        }
        assertContains("no seccomp filter (by default one is on", help);
        assertContains("Not supported: -daemonize", help);
        for (String line : help.split("\n")) {
            assertTrue(line.length() <= 120, () -> "long help line: " + line);
        }
    }

    @Test
    void incomingTakesAFileDirectory() throws UsageException {
        assertEquals(java.util.Optional.empty(), run().incoming());
        assertEquals(java.util.Optional.of(java.nio.file.Path.of("/srv/tpl")), run("-incoming", "file:/srv/tpl").incoming());
        assertEquals("-incoming tcp:0:4444: only file:DIR (a snapshot directory) is supported",
                errorWithKernel("-incoming", "tcp:0:4444"));
        assertEquals("-incoming file:: only file:DIR (a snapshot directory) is supported",
                errorWithKernel("-incoming", "file:"));
    }

    @Test
    void versionText() {
        assertTrue(CommandLine.versionText().startsWith("mesovirt "));
    }

    // ---- syntax errors ----

    @ParameterizedTest
    @ValueSource(strings = {"-foo", "--foo", "-d", "-v", "-K", "--", "---kernel", "-kernel=x", "--kernel=x"})
    void unknownOption(String option) {
        assertEquals("unknown option '" + option + "' (try --help)", errorWithKernel(option));
    }

    @ParameterizedTest
    @ValueSource(strings = {"disk.img", "-", ""})
    void unexpectedArgument(String arg) {
        assertEquals("unexpected argument '" + arg + "' (options start with '-'; try --help)", errorWithKernel(arg));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-kernel", "-initrd", "-append", "-m", "-smp", "-serial", "-name", "-uuid", "-machine",
        "-M", "--kernel"})
    void missingArgument(String option) {
        String message = error(option);
        assertTrue(message.startsWith("option -"), message);
        assertContains(" needs an argument", message);
    }

    @Test
    void missingArgumentNamesTheForm() {
        assertEquals("option -m needs an argument ([size=]SIZE)", errorWithKernel("-m"));
        assertEquals("option -kernel needs an argument (FILE)", error("-kernel"));
    }

    @ParameterizedTest
    @CsvSource({
        "-kernel, -kernel",
        "-machine, -M",
        "-m, --m",
        "-smp, -smp",
        "-append, -append",
        "-initrd, -initrd",
        "-serial, -serial",
        "-name, -name",
        "-uuid, -uuid",
    })
    void duplicateOption(String canonical, String second) {
        String value = switch (canonical) {
            case "-kernel", "-initrd" -> kernel.toString();
            case "-machine" -> "microvm";
            case "-m" -> "256";
            case "-smp" -> "1";
            case "-serial" -> "stdio";
            case "-uuid" -> "123e4567-e89b-12d3-a456-426614174000";
            default -> "x";
        };
        assertEquals("option " + canonical + " given more than once",
                error("-kernel", kernel.toString(), canonical, value, second, value));
    }

    @Test
    void daemonizeIsNotSupported() {
        assertEquals("option -daemonize is not supported", errorWithKernel("-daemonize"));
        assertEquals("option -daemonize is not supported", errorWithKernel("--daemonize"));
    }

    // ---- -S ----

    @Test
    void frozenStartNeedsAMonitorToContinueIt() throws UsageException {
        String qmp = "unix:" + dir.resolve("vm.sock") + ",server,nowait";
        assertTrue(run("-S", "-qmp", qmp).frozen());
        assertTrue(run("--freeze", "-qmp", qmp).frozen(), "StratoVirt's long name");
        assertFalse(run("-qmp", qmp).frozen());
        assertEquals("-S: nothing could continue the machine: add -qmp unix:PATH,server,nowait", errorWithKernel("-S"));
        assertEquals("option -S given more than once", errorWithKernel("-S", "-S", "-qmp", qmp));
    }

    // ---- Kata Containers ----

    /**
     * The launch line of Kata's StratoVirt driver (stratovirt.go's createParams and the devices' getParams, debug
     * mode, the rootfs image, a network endpoint on a passed TAP) parses as it is.
     */
    @Test
    void katasStratovirtLaunchLine() throws Exception {
        Path image = Files.write(dir.resolve("kata-containers.img"), new byte[4096]);
        Path vm = Files.createDirectories(dir.resolve("vm"));
        ParseResult.Run r = assertInstanceOf(ParseResult.Run.class, parser.parse("-name", "sandbox-4f0c1d9e",
                "-uuid", "8e1c0d43-9c1e-4a53-9c4c-2b0a0d7a9f11", "-smp", "2", "-m", "2048", "-kernel",
                kernel.toString(), "-append", "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro"
                        + " rootfstype=ext4 reboot=k panic=1 net.ifnames=0 ramdom.trust_cpu=on pci=off iommu=off"
                        + " acpi=off debug console=hvc0",
                "-qmp", "unix:" + vm.resolve("qmp.socket") + ",server,nowait", "-D", "-disable-seccomp",
                "-machine", "type=microvm,dump-guest-core=off",
                "-object", "rng-random,id=objrng0,filename=/dev/urandom",
                "-device", "virtio-rng-device,rng=objrng0,id=virtio-rng0",
                "-device", "virtio-serial-device,id=virtio-serial0",
                "-chardev", "socket,id=charconsole0,path=" + vm.resolve("console.socket") + ",server,nowait",
                "-device", "virtconsole,chardev=charconsole0,id=virtio-console0,nr=0",
                "-drive", "id=rootfs,file=" + image + ",readonly=on,direct=off",
                "-device", "virtio-blk-device,drive=rootfs,id=virtio-blk0",
                "-netdev", "tap,id=eth0,fds=1", "-device", "virtio-net-device,netdev=eth0,id=eth0,mac=02:42:0a:00:02:0f"));
        assertEquals(Optional.of(vm.resolve("qmp.socket")), r.qmpSocket());
        assertTrue(r.verboseLog(), "-D: info level, to stderr");
        assertEquals(Optional.empty(), r.logFile());
        assertEquals(MachineConfig.HotplugSlots.STRATOVIRT, r.config().hotplug());
        assertEquals(List.of("virtio-rng0", "virtio-serial0", "virtio-blk0", "eth0"),
                r.config().devices().stream().map(VirtioConfig::id).toList());
        assertEquals(2, r.config().vcpus());
        assertFalse(r.config().dumpGuestCore());
    }

    // ---- -qmp, -mon ----

    @Test
    void qmpSocketReservesHotplugSlots() throws UsageException {
        Path sock = dir.resolve("vm.sock");
        ParseResult.Run r = run("-qmp", "unix:" + sock + ",server,nowait");
        assertEquals(Optional.of(sock), r.qmpSocket());
        assertEquals(MachineConfig.HotplugSlots.STRATOVIRT, r.config().hotplug());
        assertEquals(Optional.of(sock), run("-qmp", "unix:" + sock + ",server=on,wait=off").qmpSocket());
        ParseResult.Run none = run();
        assertEquals(Optional.empty(), none.qmpSocket());
        assertEquals(MachineConfig.HotplugSlots.NONE, none.config().hotplug());
    }

    @Test
    void qmpOnAMonitorChardev() throws UsageException {
        Path sock = dir.resolve("mon.sock");
        ParseResult.Run r = run("-chardev", "socket,id=qmp0,path=" + sock + ",server,nowait",
                "-mon", "chardev=qmp0,id=monitor0,mode=control");
        assertEquals(Optional.of(sock), r.qmpSocket());
        assertTrue(r.config().devices().isEmpty(), "the monitor's chardev is not a console");
    }

    @Test
    void badQmpOptions() {
        String sock = dir.resolve("vm.sock").toString();
        assertContains("only unix:PATH,server,nowait sockets are supported", errorWithKernel("-qmp", "tcp:1.2.3.4:5,server,nowait"));
        assertContains("must be a listening one: add ,server,nowait", errorWithKernel("-qmp", "unix:" + sock));
        assertContains("unknown socket option 'bogus'", errorWithKernel("-qmp", "unix:" + sock + ",server,nowait,bogus"));
        assertContains("the socket path is empty", errorWithKernel("-qmp", "unix:,server,nowait"));
        assertContains("does not exist", errorWithKernel("-qmp", "unix:/nonexistent/dir/x.sock,server,nowait"));
        assertContains("only mode=control", errorWithKernel("-chardev", "socket,id=c,path=" + sock + ",server,nowait",
                "-mon", "chardev=c,mode=readline"));
        assertContains("no -chardev with id 'c'", errorWithKernel("-mon", "chardev=c,mode=control"));
        assertContains("only one QMP monitor", errorWithKernel("-qmp", "unix:" + sock + ",server,nowait",
                "-chardev", "socket,id=c,path=" + sock + "2,server,nowait", "-mon", "chardev=c,mode=control"));
        assertContains("given more than once", errorWithKernel("-qmp", "unix:" + sock + ",server,nowait",
                "-qmp", "unix:" + sock + ",server,nowait"));
    }

    @Test
    void firstErrorWins() {
        assertEquals("unknown option '-bogus' (try --help)", error("-bogus", "-kernel", "/nonexistent"));
        // Syntax errors come before value errors.
        assertEquals("unknown option '-bogus' (try --help)", error("-kernel", "/nonexistent", "-bogus"));
    }

    @Test
    void listAndArrayFormsAgree() throws UsageException {
        assertEquals(parser.parse("-kernel", kernel.toString(), "-m", "1G"),
                parser.parse(List.of("-kernel", kernel.toString(), "-m", "1G")));
    }

    @Test
    void virtioDevices() throws Exception {
        Path img = Files.write(dir.resolve("disk.img"), new byte[4096]);
        MachineConfig c = config("-drive", "id=d0,file=" + img + ",readonly=on,direct=off,if=none",
                "-object", "rng-random,id=r0,filename=/dev/urandom",
                "-device", "virtio-rng-device,rng=r0,id=rng0",
                "-device", "virtio-blk-device,drive=d0,id=blk0,serial=abc");
        assertEquals(List.of(new VirtioConfig.Rng("rng0", Path.of("/dev/urandom")),
                new VirtioConfig.Block("blk0", img, true, false, java.util.Optional.of("abc"))), c.devices());
        assertEquals("-device virtio-foo,id=x: unknown device 'virtio-foo' (supported: virtio-blk-device, "
                + "virtio-net-device, virtio-rng-device, virtio-serial-device, virtconsole, vhost-vsock-device or "
                + "vhost-user-fs-device)", errorWithKernel("-device", "virtio-foo,id=x"));
        assertEquals("-device virtio-blk-device,drive=x,id=b: no -drive with id 'x'",
                errorWithKernel("-device", "virtio-blk-device,drive=x,id=b"));
        assertEquals("-device virtio-blk-device,drive=d0,id=b: duplicate device id 'b'",
                errorWithKernel("-drive", "id=d0,file=" + img, "-drive", "id=d1,file=" + img,
                        "-device", "virtio-blk-device,drive=d1,id=b", "-device", "virtio-blk-device,drive=d0,id=b"));
        assertEquals("-drive id=d0,file=" + img + ": duplicate drive id 'd0'",
                errorWithKernel("-drive", "id=d0,file=" + img, "-drive", "id=d0,file=" + img));
        assertEquals("-drive id=d0,file=/nonexistent.img: /nonexistent.img: no such file",
                errorWithKernel("-drive", "id=d0,file=/nonexistent.img"));
        assertEquals("-drive id=d0,file=" + dir + ": " + dir + ": is a directory, not a file",
                errorWithKernel("-drive", "id=d0,file=" + dir));
        assertEquals("-device virtio-blk-device,id=b: missing drive=",
                errorWithKernel("-device", "virtio-blk-device,id=b"));
        assertEquals("-object rng-egd,id=r: unknown object type 'rng-egd' (supported: rng-random or memory-backend-memfd)",
                errorWithKernel("-object", "rng-egd,id=r"));
        assertEquals("-device virtio-rng-device,rng=r,id=x: no -object rng-random with id 'r'",
                errorWithKernel("-device", "virtio-rng-device,rng=r,id=x"));
        MachineConfig n = config("-netdev", "tap,id=n0,ifname=tap0", "-device", "virtio-net-device,netdev=n0,id=net0,mac=02:00:00:00:00:0a");
        assertEquals(List.of(new VirtioConfig.Net("net0", java.util.Optional.of("tap0"), -1,
                MacAddress.parse("02:00:00:00:00:0a"))), n.devices());
        assertEquals("-device virtio-net-device,netdev=n1,id=x: no -netdev with id 'n1'",
                errorWithKernel("-device", "virtio-net-device,netdev=n1,id=x"));
        Path sock = dir.resolve("c.sock");
        assertEquals(List.of(new VirtioConfig.Console("vs", java.util.Optional.of(sock))),
                config("-chardev", "socket,id=c0,path=" + sock + ",server,nowait",
                        "-device", "virtio-serial-device,id=vs", "-device", "virtconsole,chardev=c0,id=con0,nr=0").devices());
        assertEquals("-device virtconsole,chardev=c0,id=con0: no -device virtio-serial-device before it",
                errorWithKernel("-chardev", "stdio,id=c0", "-serial", "none", "-device", "virtconsole,chardev=c0,id=con0"));
        assertEquals("-chardev stdio,id=c0: stdio is already used by -serial (use -serial none or file:)",
                errorWithKernel("-chardev", "stdio,id=c0"));
    }

    /** mac= is a unicast address; without it a NIC gets QEMU's next 52:54:00:12:34:XX, counting NICs only. */
    @Test
    void nicAddressesAreUnicastAndDefaultAsQemus() throws UsageException {
        String what = "-device virtio-net-device,netdev=n0,id=a,mac=";
        List<String> twoTaps = List.of("-netdev", "tap,id=n0,ifname=tap0", "-netdev", "tap,id=n1,ifname=tap1",
                "-object", "rng-random,id=r0,filename=/dev/urandom", "-device", "virtio-rng-device,rng=r0,id=rng0");
        List<String> args = new ArrayList<>(twoTaps);
        args.addAll(List.of("-device", "virtio-net-device,netdev=n0,id=a", "-device", "virtio-net-device,netdev=n1,id=b"));
        assertEquals(List.of("52:54:00:12:34:56", "52:54:00:12:34:57"), macs(config(args.toArray(new String[0]))),
                "the RNG before them takes no address");
        args = new ArrayList<>(twoTaps);
        args.addAll(List.of("-device", "virtio-net-device,netdev=n0,id=a,mac=52:54:00:12:34:56",
                "-device", "virtio-net-device,netdev=n1,id=b"));
        assertEquals(List.of("52:54:00:12:34:56", "52:54:00:12:34:57"), macs(config(args.toArray(new String[0]))),
                "a default skips an address given before it");
        for (String bad : List.of("01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "52:54:00:12:34", "52:54:00:12:34:5g")) {
            assertEquals(what + bad + ": mac '" + bad + "' is not a unicast MAC address (aa:bb:cc:dd:ee:ff)",
                    errorWithKernel("-netdev", "tap,id=n0,ifname=tap0", "-device",
                            "virtio-net-device,netdev=n0,id=a,mac=" + bad));
        }
    }

    private static List<String> macs(MachineConfig config) {
        return config.devices().stream().filter(d -> d instanceof VirtioConfig.Net)
                .map(d -> ((VirtioConfig.Net) d).mac().toString()).toList();
    }

    @Test
    void pciDevicesAndRootPortsOnQ35() throws Exception {
        Path img = Files.write(dir.resolve("disk.img"), new byte[4096]);
        Path sock = dir.resolve("c.sock");
        ParseResult.Run r = run("-machine", "q35", "-drive", "id=d0,file=" + img,
                "-device", "virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3,serial=s",
                "-object", "rng-random,id=r0,filename=/dev/urandom",
                "-device", "virtio-rng-pci,rng=r0,id=rng0",
                "-netdev", "tap,id=n0,ifname=tap0", "-device", "virtio-net-pci,netdev=n0,id=net0,bus=pcie.1",
                "-device", "pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x5.0x2,multifunction=on",
                "-chardev", "socket,id=c0,path=" + sock + ",server,nowait",
                "-device", "virtio-serial-pci,id=vs0,addr=6", "-device", "virtconsole,chardev=c0,id=con0");
        List<VirtioConfig> d = r.config().devices();
        assertEquals(Optional.of(new DevicePlacement.Pci("pcie.0", 3, 0)), d.get(0).placement());
        assertEquals(Optional.empty(), d.get(1).placement(), "no addr on pcie.0: the next free slot");
        assertEquals(Optional.of(new DevicePlacement.Pci("pcie.1", 0, 0)), d.get(2).placement(),
                "a root port's one slot");
        assertEquals(Optional.of(new DevicePlacement.Pci("pcie.0", 6, 0)), d.get(3).placement());
        assertEquals(new VirtioConfig.Console("vs0", Optional.of(sock), Optional.of(
                new DevicePlacement.Pci("pcie.0", 6, 0))), d.get(3));
        assertEquals(List.of(new PciTopology.RootPort("pcie.1", 1, 5, 2)), r.pci().rootPorts());
    }

    @Test
    void pciPlacementErrors() throws Exception {
        Path img = Files.write(dir.resolve("disk.img"), new byte[4096]);
        String drive = "id=d0,file=" + img;
        String port = "pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x5";
        assertEquals("-device virtio-blk-pci,drive=d0,id=b1,addr=0x3: pcie.0 03.0 is already in use",
                errorWithKernel("-M", "q35", "-drive", drive, "-drive", "id=d1,file=" + img,
                        "-device", "virtio-blk-pci,drive=d1,id=b0,addr=0x3", "-device", "virtio-blk-pci,drive=d0,id=b1,addr=0x3"));
        assertEquals("-device virtio-blk-pci,drive=d0,id=b,addr=0x5: pcie.0 05.0 is already in use",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", port, "-device", "virtio-blk-pci,drive=d0,id=b,addr=0x5"),
                "the root port's address is taken too");
        assertEquals("-device virtio-blk-pci,drive=d0,id=b,bus=pcie.7: no bus 'pcie.7' (buses: pcie.0, pcie.1)",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", port, "-device", "virtio-blk-pci,drive=d0,id=b,bus=pcie.7"));
        assertContains("slot 32 (0x20) out of range",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", "virtio-blk-pci,drive=d0,id=b,addr=0x20"));
        assertContains("function 8 out of range",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", "virtio-blk-pci,drive=d0,id=b,addr=0x3.8"));
        assertContains("'x3' is not a number",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", "virtio-blk-pci,drive=d0,id=b,addr=x3"));
        assertEquals("-device virtio-blk-pci,drive=d0,id=b,bus=pcie.1,addr=0x1: a pcie-root-port has one slot: addr=0x0"
                        + " on bus pcie.1",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", port,
                        "-device", "virtio-blk-pci,drive=d0,id=b,bus=pcie.1,addr=0x1"));
        assertEquals("-device virtio-blk-device,drive=d0,id=b: virtio-blk-device is a virtio-mmio device, for -machine"
                        + " microvm, not the standard machine (q35, virt); it takes virtio-blk-pci",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", "virtio-blk-device,drive=d0,id=b"));
        assertEquals("-device virtio-blk-pci,drive=d0,id=b: virtio-blk-pci is a PCI device, for -machine q35 or virt,"
                        + " not -machine microvm; it takes virtio-blk-device",
                errorWithKernel("-drive", drive, "-device", "virtio-blk-pci,drive=d0,id=b"));
        assertEquals("-device pcie-root-port,id=p: pcie-root-port is a PCI device, for -machine q35 or virt, not"
                        + " -machine microvm", errorWithKernel("-device", "pcie-root-port,id=p"));
        assertEquals("-device pcie-root-port,id=pcie.2,port=0x1,bus=pcie.0,addr=0x6: port 1 is already pcie.1's",
                errorWithKernel("-M", "q35", "-device", port, "-device", "pcie-root-port,id=pcie.2,port=0x1,bus=pcie.0,addr=0x6"));
        assertEquals("-device pcie-root-port,id=pcie.2,port=2,bus=pcie.1,addr=0x0: a pcie-root-port goes on bus"
                        + " pcie.0, not pcie.1",
                errorWithKernel("-M", "q35", "-device", port, "-device", "pcie-root-port,id=pcie.2,port=2,bus=pcie.1,addr=0x0"));
        assertEquals("-device pcie-root-port,id=pcie.1,addr=0x5: missing port=",
                errorWithKernel("-M", "q35", "-device", "pcie-root-port,id=pcie.1,addr=0x5"));
        assertEquals("-device virtio-blk-pci,drive=d0,id=b,multifunction=yes: multifunction must be on or off, not 'yes'",
                errorWithKernel("-M", "q35", "-drive", drive, "-device", "virtio-blk-pci,drive=d0,id=b,multifunction=yes"));
    }

    @Test
    void vhostVsock() throws Exception {
        assertEquals(List.of(new VirtioConfig.Vsock("v0", 3, -1, Optional.empty())),
                config("-device", "vhost-vsock-device,id=v0,guest-cid=3").devices());
        // vhostfd= must name a descriptor open in this process: stdin is.
        assertEquals(List.of(new VirtioConfig.Vsock("v0", 4294967294L, 0, Optional.empty())),
                config("-device", "vhost-vsock-device,id=v0,guest-cid=4294967294,vhostfd=0").devices());
        assertEquals(List.of(new VirtioConfig.Vsock("v0", 7, -1, Optional.of(new DevicePlacement.Pci("pcie.0", 5, 0)))),
                run("-machine", "q35", "-device", "vhost-vsock-pci,id=v0,guest-cid=7,bus=pcie.0,addr=0x5")
                        .config().devices());
        assertEquals("-device vhost-vsock-device,id=v,guest-cid=2: guest-cid 2 is out of range: a guest's CID is at"
                + " least 3 and less than 4294967295", errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=2"));
        assertContains("guest-cid 4294967295 is out of range",
                errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=4294967295"));
        assertContains("guest-cid=-3 is not a number", errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=-3"));
        assertContains("guest-cid 18446744073709551615 is out of range",
                errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=18446744073709551615"));
        assertEquals("-device vhost-vsock-device,id=v,guest-cid=x: guest-cid=x is not a number",
                errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=x"));
        assertEquals("-device vhost-vsock-device,id=v: missing guest-cid=",
                errorWithKernel("-device", "vhost-vsock-device,id=v"));
        assertEquals("-device vhost-vsock-device,id=v,guest-cid=3,vhostfd=999999: vhostfd=999999 is not an open file"
                + " descriptor", errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=3,vhostfd=999999"));
        assertContains("only one vsock device is supported (v is one)", errorWithKernel(
                "-device", "vhost-vsock-device,id=v,guest-cid=3", "-device", "vhost-vsock-device,id=w,guest-cid=4"));
        assertEquals("-device vhost-vsock-pci,id=v,guest-cid=3: vhost-vsock-pci is a PCI device, for -machine q35 or"
                + " virt, not -machine microvm; it takes vhost-vsock-device",
                errorWithKernel("-device", "vhost-vsock-pci,id=v,guest-cid=3"));
        assertContains("unknown property 'bus'", errorWithKernel("-device", "vhost-vsock-device,id=v,guest-cid=3,bus=pcie.0"));
    }

    /** A firmware-volume-shaped file of {@code size} bytes (the "_FVH" signature at 0x28). */
    private Path firmware(String name, int size) throws IOException {
        byte[] b = new byte[size];
        System.arraycopy("_FVH".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, b, 0x28, 4);
        return Files.write(dir.resolve(name), b);
    }

    /** Parses exactly {@code args} (no -kernel: pflash firmware boots instead); the result must be a Run. */
    private ParseResult.Run firmwareRun(String... args) throws UsageException {
        return assertInstanceOf(ParseResult.Run.class, parser.parse(args));
    }

    @Test
    void pflashDrivesOnQ35() throws Exception {
        Path code = firmware("OVMF_CODE.fd", 0x37C000);
        Path vars = firmware("OVMF_VARS.fd", 0x84000);
        ParseResult.Run r = firmwareRun("-machine", "q35", "-drive", "file=" + code + ",if=pflash,unit=0,readonly=on",
                "-drive", "file=" + vars + ",if=pflash,unit=1");
        assertEquals(List.of(new dev.mesovirt.vmm.firmware.FlashImage(0, code, true, 0x37C000),
                new dev.mesovirt.vmm.firmware.FlashImage(1, vars, false, 0x84000)), r.pflash());
        assertTrue(r.config().devices().isEmpty(), "a pflash drive is no virtio device");
        assertEquals(Optional.empty(), r.config().kernel(), "the firmware boots, not a kernel");
        // unit= defaults to the next one, as in QEMU
        assertEquals(1, firmwareRun("-M", "q35", "-drive", "if=pflash,format=raw,readonly=on,file=" + code,
                "-drive", "if=pflash,format=raw,file=" + vars).pflash().get(1).unit());
        assertTrue(run("-M", "q35").pflash().isEmpty());
    }

    @Test
    void pflashErrors() throws Exception {
        Path code = firmware("OVMF_CODE.fd", 0x37C000);
        Path cut = Files.write(dir.resolve("cut.fd"), java.util.Arrays.copyOf(Files.readAllBytes(code), 0x37C000 - 512));
        assertContains("-drive file=" + cut + ",if=pflash,readonly=on: pflash unit 0 (" + cut + "): 3653120 bytes is"
                + " not a whole number of 4 KiB flash blocks",
                error("-M", "q35", "-drive", "file=" + cut + ",if=pflash,readonly=on"));
        assertContains("no such file", error("-M", "q35", "-drive", "file=" + dir.resolve("none.fd")
                + ",if=pflash,readonly=on"));
        Path notFirmware = Files.write(dir.resolve("disk.img"), new byte[8192]);
        assertContains("not a UEFI firmware image", error("-M", "q35", "-drive", "file=" + notFirmware
                + ",if=pflash,readonly=on"));
        assertContains("if=pflash needs the standard machine", error("-drive", "file=" + code
                + ",if=pflash,readonly=on"));
        assertContains("pflash unit 0 is already given", error("-M", "q35", "-drive", "file=" + code
                + ",if=pflash,readonly=on", "-drive", "file=" + code + ",if=pflash,unit=0,readonly=on"));
        assertContains("unit=2 out of range", error("-M", "q35", "-drive", "file=" + code
                + ",if=pflash,unit=2,readonly=on"));
        assertContains("if=ide is not supported (only if=none and if=pflash)", errorWithKernel("-M", "q35",
                "-drive", "id=d0,file=" + code + ",if=ide"));
        assertContains("unit= is for if=pflash drives", errorWithKernel("-M", "q35", "-drive", "id=d0,file=" + code
                + ",unit=1"));
        // -kernel with pflash: the kernel goes to the firmware (fw_cfg), as QEMU's q35 does it.
        ParseResult.Run both = run("-M", "q35", "-drive", "file=" + code + ",if=pflash,readonly=on", "-append", "quiet");
        assertEquals(kernel, both.config().kernel().orElseThrow());
        assertEquals(1, both.pflash().size());
        assertContains("-initrd and -append need -kernel", error("-M", "q35", "-drive", "file=" + code
                + ",if=pflash,readonly=on", "-append", "console=ttyS0"));
        assertContains("no kernel: -kernel FILE is required", error("-M", "q35"));
    }
}
