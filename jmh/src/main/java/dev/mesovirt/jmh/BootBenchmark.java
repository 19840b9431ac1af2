package dev.mesovirt.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Boot time of a real Linux guest, Mesovirt against QEMU with KVM (the microvm machine on x86_64, virt on aarch64 and
 * riscv64), as a VMM's user sees it: from starting the VMM process to the guest's marker line on the serial console
 * ({@code toMarker}: the test initramfs prints GUEST-READY when its init runs), and to the process's exit after the
 * guest powers off ({@code toPowerOff}). Single shot: each fork boots once per method, so the spread comes from many
 * forks ({@code -f}).
 *
 * <p>It needs a KVM that boots Linux: on this project's machines, run it inside the emulated KVM host of the
 * architecture with {@code ci/bench/boot-jmh.sh [ARCH]}, which sets {@code -p arch=} and passes the paths as system
 * properties: {@code boot.mesovirt} (bin/mesovirt), {@code boot.qemu} (qemu-system-ARCH), {@code boot.kernel},
 * {@code boot.initrd}.
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

    private List<String> command;

    @Setup
    public void setup() {
        String kernel = required("boot.kernel");
        String initrd = required("boot.initrd");
        command = new ArrayList<>();
        if (vmm.equals("mesovirt")) {
            // Mesovirt's console is a 16550 UART on every architecture.
            command.addAll(List.of(required("boot.mesovirt"), "-machine", "microvm", "-kernel", kernel, "-initrd",
                    initrd, "-append", "console=ttyS0 quiet", "-m", "256", "-smp", Integer.toString(vcpus), "-serial",
                    "stdio"));
        } else if (vmm.equals("qemu")) {
            command.add(required("boot.qemu"));
            String console = "ttyS0";
            switch (arch) {
                case "x86_64" -> command.addAll(List.of("-M", "microvm"));
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
        } else {
            throw new IllegalArgumentException("vmm must be mesovirt or qemu, not " + vmm);
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
        Process p = start();
        try {
            if (!readUntil(p, MARKER)) {
                throw new IllegalStateException(vmm + ": the guest's " + MARKER + " never came (exit "
                        + p.waitFor() + ")");
            }
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
    }

    /** VMM start to its exit, after the guest's init has powered the machine off. */
    @Benchmark
    public void toPowerOff() throws IOException, InterruptedException {
        Process p = start();
        readUntil(p, null);
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException(vmm + " exited with " + rc);
        }
    }

    private Process start() throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
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
