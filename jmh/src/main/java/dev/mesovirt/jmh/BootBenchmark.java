package dev.mesovirt.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Boot time of a real Linux guest, Mesovirt against QEMU with KVM, as a VMM's user sees it: from starting the VMM
 * process to the guest's marker line on the serial console ({@code toMarker}: the test initramfs prints GUEST-READY
 * when its init runs), and to the process's exit after the guest powers off ({@code toPowerOff}). Single shot: each
 * fork boots once per method, so the spread comes from many forks ({@code -f}).
 *
 * <p>Parameter {@code machine}: {@code microvm} is Mesovirt's {@code -machine microvm} (virtio-mmio) against QEMU's
 * light machine of the architecture (microvm on x86_64, virt on aarch64 and riscv64), with no disk, as these figures
 * always were. {@code q35} (x86_64 only) is Mesovirt's standard machine {@code -machine q35} against
 * {@code qemu-system-x86_64 -M q35}, both with a virtio-blk-pci disk at 00:03.0 on pcie.0: QEMU's q35 boots through
 * its firmware (SeaBIOS loads the kernel), Mesovirt loads the kernel itself, and each figure is what its user runs.
 * {@code virt} (aarch64 and riscv64) is Mesovirt's standard machine {@code -machine virt} against
 * {@code qemu-system-ARCH -M virt}, both with a virtio-blk-pci disk at 00:03.0 behind their ECAM host bridge; both
 * load the kernel themselves (no firmware on either side).
 *
 * <p>It needs a KVM that boots Linux: on this project's machines, run it inside the emulated KVM host of the
 * architecture with {@code ci/bench/boot-jmh.sh [ARCH]}, which sets {@code -p arch=} and {@code -p machine=} and
 * passes the paths as system properties: {@code boot.mesovirt} (bin/mesovirt), {@code boot.qemu} (qemu-system-ARCH),
 * {@code boot.kernel}, {@code boot.initrd}; {@code boot.timeout} (seconds, default 300) bounds one boot.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(3)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
public class BootBenchmark {
    static final String MARKER = "GUEST-READY";

    @Param({"mesovirt", "qemu"})
    public String vmm;

    @Param({"1", "2"})
    public int vcpus;

    /** The host's (and guest's) architecture: QEMU's machine and console depend on it. */
    @Param({"x86_64"})
    public String arch;

    /**
     * The machine type: {@code microvm} (QEMU's peer is microvm or virt, no disk), {@code q35} (x86_64 only) or
     * {@code virt} (aarch64 and riscv64), the standard machines, both with a virtio-blk-pci disk.
     */
    @Param({"microvm", "q35"})
    public String machine;

    /** The standard machines' disk: an empty raw image, so that both VMMs set up and the guest probes a virtio-blk-pci. */
    private static final long DISK_BYTES = 16L << 20;

    private List<String> command;
    private Path disk;
    /**
     * A boot that takes longer is killed and fails its fork. Under nested emulation a VMM has been seen to hang
     * for good (QEMU q35, 2 vCPUs, once in 48 boots); blocked on its console, the fork would never end and the
     * whole run, whose results JMH writes only at the end, would be lost to the emulated host's timeout.
     */
    private long timeoutSeconds;

    @Setup
    public void setup() throws IOException {
        timeoutSeconds = Long.getLong("boot.timeout", 300);
        String kernel = required("boot.kernel");
        String initrd = required("boot.initrd");
        boolean q35 = machine.equals("q35");
        boolean standard = switch (machine) {
            case "microvm" -> false;
            case "q35", "virt" -> {
                String home = q35 ? "x86_64" : "aarch64 or riscv64";
                if (q35 != arch.equals("x86_64")) {
                    throw new IllegalArgumentException("machine " + machine + " is " + home + "'s, not " + arch + "'s");
                }
                yield true;
            }
            default -> throw new IllegalArgumentException("machine must be microvm, q35 or virt, not " + machine);
        };
        if (standard) {
            disk = Files.createTempFile("boot-bench-", ".img");
            disk.toFile().deleteOnExit(); // a failed iteration skips the tear-down
            try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
                f.setLength(DISK_BYTES);
            }
        }
        command = new ArrayList<>();
        if (vmm.equals("mesovirt")) {
            // Mesovirt's console is a 16550 UART on every architecture.
            command.addAll(List.of(required("boot.mesovirt"), "-machine", machine, "-kernel", kernel, "-initrd",
                    initrd, "-append", "console=ttyS0 quiet", "-m", "256", "-smp", Integer.toString(vcpus), "-serial",
                    "stdio"));
            if (standard) {
                command.addAll(List.of("-drive", "id=d0,file=" + disk, "-device",
                        "virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3"));
            }
        } else if (vmm.equals("qemu")) {
            command.add(required("boot.qemu"));
            String console = "ttyS0";
            switch (arch) {
                // q35 with -kernel runs SeaBIOS, whose option ROM loads the kernel: part of QEMU's figure.
                case "x86_64" -> command.addAll(List.of("-M", q35 ? "q35" : "microvm"));
                // virt's console is a PL011 on arm64; the in-kernel vGICv3, as Mesovirt's.
                case "aarch64" -> {
                    command.addAll(List.of("-M", "virt,gic-version=3"));
                    console = "ttyAMA0";
                }
                // A 16550 and the in-kernel AIA, as Mesovirt's; KVM provides the SBI, so no firmware.
                case "riscv64" -> command.addAll(List.of("-M", "virt,aia=aplic-imsic", "-bios", "none"));
                default -> throw new IllegalArgumentException("arch must be x86_64, aarch64 or riscv64, not " + arch);
            }
            command.addAll(List.of("-accel", "kvm", "-cpu", "host", "-m", "256", "-smp", Integer.toString(vcpus),
                    "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-kernel", kernel, "-initrd",
                    initrd, "-append", "console=" + console + " quiet"));
            if (standard) {
                command.addAll(List.of("-drive", "id=d0,file=" + disk + ",format=raw,if=none", "-device",
                        "virtio-blk-pci,drive=d0,bus=pcie.0,addr=0x3"));
            }
        } else {
            throw new IllegalArgumentException("vmm must be mesovirt or qemu, not " + vmm);
        }
    }

    @TearDown
    public void deleteDisk() throws IOException {
        if (disk != null) {
            Files.deleteIfExists(disk);
        }
    }

    private static String required(String property) {
        String v = System.getProperty(property);
        if (v == null || v.isEmpty() || !Files.exists(Path.of(v))) {
            throw new IllegalStateException("-D" + property + "=<existing path> is required (see ci/bench/boot-jmh.sh)");
        }
        return v;
    }

    /** VMM start to the guest's GUEST-READY line; the VMM is then killed. */
    @Benchmark
    public void toMarker() throws IOException, InterruptedException {
        Boot b = start();
        try {
            if (!readUntil(b.process(), MARKER)) {
                throw new IllegalStateException(failure(b, "toMarker: the guest's " + MARKER + " never came"));
            }
        } finally {
            b.process().destroyForcibly();
            b.process().waitFor();
        }
    }

    /** VMM start to its exit, after the guest's init has powered the machine off. */
    @Benchmark
    public void toPowerOff() throws IOException, InterruptedException {
        Boot b = start();
        readUntil(b.process(), null);
        if (b.process().waitFor() != 0 || b.killed().get()) {
            throw new IllegalStateException(failure(b, "toPowerOff: no clean exit"));
        }
    }

    private Boot start() throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.PIPE).start();
        AtomicBoolean killed = new AtomicBoolean();
        // Killing the VMM closes its console, which ends the read the benchmark thread is blocked in.
        Thread.ofVirtual().start(() -> {
            try {
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    killed.set(true);
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        });
        return new Boot(p, killed);
    }

    /** A VMM process and whether the watchdog killed it. */
    private record Boot(Process process, AtomicBoolean killed) {
    }

    private String failure(Boot b, String what) throws InterruptedException {
        return vmm + " " + machine + ", " + vcpus + " vCPUs: " + what + " (" + (b.killed().get()
                ? "killed after " + timeoutSeconds + " s, -Dboot.timeout" : "exit " + b.process().waitFor()) + ")";
    }

    /** Reads the console until a line contains {@code marker} (true) or the output ends (false). */
    private static boolean readUntil(Process p, String marker) throws IOException {
        p.getOutputStream().close();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (marker != null && line.contains(marker)) {
                    return true;
                }
            }
        }
        return false;
    }
}
