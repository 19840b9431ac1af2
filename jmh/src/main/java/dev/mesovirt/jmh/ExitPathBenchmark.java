package dev.mesovirt.jmh;

import dev.mesovirt.vmm.kvm.VcpuExit;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Nanoseconds per guest exit round trip on the host's /dev/kvm: a real-mode guest ({@link RealModeGuest}) exits on
 * every iteration of its loop (a port write or an MMIO write), and the VMM handles the exit and re-enters.
 *
 * <ul>
 *   <li>{@code vcpuLoop}: through Mesovirt's VcpuLoop — KVM_RUN via JNA, exit decoding, the bus lookup and the
 *       device's write handler ({@link ExitLoop}); the figure to compare with {@code exit-loop.c}.
 *   <li>{@code vcpuRun}: {@code Vcpu.run()} alone (the JNA ioctl and the exit decoding, no dispatch), to split the
 *       cost.
 * </ul>
 * The guest never stops by itself; each invocation runs {@value #EXITS} exits. Needs a usable /dev/kvm.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ExitPathBenchmark {
    public static final int EXITS = 2000;

    /** pio: {@code out dx, al}; mmio: a byte store to an address with no memory slot. */
    @Param({"pio", "mmio"})
    public String exit;

    private RealModeGuest guest;
    private ExitLoop loop;

    @Setup(Level.Trial)
    public void setUp() {
        guest = new RealModeGuest(exit.equals("pio") ? RealModeGuest.Kind.PIO : RealModeGuest.Kind.MMIO);
        loop = ExitLoop.open(guest.vcpu());
        loop.run(10);
        if (loop.count() != 10) {
            throw new IllegalStateException("the guest loop did not exit as expected");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        guest.close();
    }

    @Benchmark
    @OperationsPerInvocation(EXITS)
    public long vcpuLoop() {
        loop.run(EXITS);
        return loop.count();
    }

    @Benchmark
    @OperationsPerInvocation(EXITS)
    public int vcpuRun() {
        int n = 0;
        for (int i = 0; i < EXITS; i++) {
            VcpuExit e = guest.vcpu().run();
            if (e instanceof VcpuExit.Io || e instanceof VcpuExit.Mmio) {
                n++;
            }
        }
        if (n != EXITS) {
            throw new IllegalStateException("unexpected exits: " + (EXITS - n));
        }
        return n;
    }
}
