package dev.mesovirt.machine.microvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.Outcome;
import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.machine.TinyX86;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LightMachine#reset()} and {@link LightMachine#powerDown()} on this machine's own /dev/kvm, with a machine
 * built by the real LightMachine from a tiny test architecture ({@link TinyX86}): an x86 vCPU starts at the reset
 * vector with no register set-up at all, so the "firmware" is 13 bytes of code there that report a RAM byte on port
 * 0x80, overwrite it, and spin. A reset must run that code again on a new VM, with RAM zeroed.
 */
@RequiresKvm
class LightMachineResetTest {
    private final TinyX86 arch = new TinyX86();

    @BeforeEach
    void needKvmOnX86() {
        TinyX86.requireKvmOnX86();
    }

    @Test
    void resetBootsAgainOnANewVmWithZeroedRamAndPowerDownPressesTheButton() throws Exception {
        MachineConfig config = new MachineConfig("reset-test", Optional.empty(), 1L << 20, 1,
                Path.of("/nonexistent-kernel-the-test-arch-loads-none"), Optional.empty(), "",
                new SerialConfig.None(), false);
        try (LightMachine machine = new LightMachine(config, arch, Kvm.DEFAULT_PATH)) {
            machine.start();
            awaitReports(1);
            assertEquals(0, arch.bootReports.get(0), "first boot sees zeroed RAM");
            int[] firstThreads = machine.vcpuThreadIds();

            machine.powerDown();
            assertEquals(1, arch.presses.get(), "system_powerdown presses the architecture's button");

            machine.reset();
            awaitReports(2);
            assertEquals(0, arch.bootReports.get(1),
                    "the reset gives the guest zeroed RAM (the first boot wrote 0x55)");
            assertEquals(RunState.RUNNING, machine.runState());
            assertNotEquals(firstThreads[0], machine.vcpuThreadIds()[0], "new vCPU threads for the new VM");
            assertEquals(1, arch.buttonResets.get(), "the old power button was reset");
            assertEquals(2, arch.requests.size());
            assertEquals(arch.requests.get(0).devices(), arch.requests.get(1).devices(), "same firmware description");
            assertTrue(arch.requests.get(0).devices().stream()
                    .anyMatch(d -> d instanceof DeviceDescription.PowerButton),
                    "the power button is described to the firmware tables");

            // A paused machine stays paused across a reset, and runs the firmware once resumed.
            machine.pause();
            assertEquals(RunState.PAUSED, machine.runState());
            machine.reset();
            TimeUnit.MILLISECONDS.sleep(300);
            assertEquals(2, arch.bootReports.size(), "no guest code runs while paused");
            assertTrue(machine.isPaused());
            machine.resume();
            awaitReports(3);
            assertEquals(0, arch.bootReports.get(2));

            machine.stop(new Outcome.Quit("test"));
            assertThrows(IllegalStateException.class, machine::reset, "no reset once stopped");
            assertFalse(machine.runState() == RunState.RUNNING);
        }
    }

    private void awaitReports(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (arch.bootReports.size() < n && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(5);
        }
        assertEquals(n, arch.bootReports.size(), "boot reports on port 0x80");
    }
}
