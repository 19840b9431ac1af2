package dev.mesovirt.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** ExitPathBenchmark's guest and loop (Mesovirt's VcpuLoop) on this machine's /dev/kvm. */
@RequiresKvm
class ExitLoopTest {
    @ParameterizedTest
    @EnumSource(RealModeGuest.Kind.class)
    void theGuestExitsOncePerIterationThroughVcpuLoop(RealModeGuest.Kind kind) {
        KvmAvailability.require();
        try (RealModeGuest guest = new RealModeGuest(kind)) {
            ExitLoop loop = ExitLoop.open(guest.vcpu());
            loop.run(100);
            assertEquals(100, loop.count());
            loop.run(50);
            assertEquals(150, loop.count());
        }
    }
}
