package dev.mesovirt.machine.microvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mesovirt.vmm.arch.Architecture;
import dev.mesovirt.vmm.arch.BootPlan;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PlatformDevice;
import dev.mesovirt.vmm.arch.PowerButton;
import dev.mesovirt.vmm.bus.BusDevice;
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.KvmCapability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.kvm.Vcpu;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.machine.MachineConfig;
import dev.mesovirt.vmm.machine.Outcome;
import dev.mesovirt.vmm.machine.RunState;
import dev.mesovirt.vmm.machine.SerialConfig;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LightMachine#reset()} and {@link LightMachine#powerDown()} on this machine's own /dev/kvm, with a machine
 * built by the real LightMachine from a tiny test architecture: an x86 vCPU starts at the reset vector
 * (0xFFFFFFF0 in real mode) with no register set-up at all, so the "firmware" is 13 bytes of code there that report
 * a RAM byte on port 0x80, overwrite it, and spin. A reset must run that code again on a new VM, with RAM zeroed.
 */
@RequiresKvm
class LightMachineResetTest {
    private static final long RESET_PAGE = 0xFFFF_0000L;
    private static final long RESET_VECTOR = 0xFFFF_FFF0L;
    private static final int PROBE = 0x500;
    /** mov al,[0x500]; out 0x80,al; mov byte [0x500],0x55; jmp $ (spins: HLT would end the run without an irqchip). */
    private static final byte[] FIRMWARE = {
        (byte) 0xA0, 0x00, 0x05,
        (byte) 0xE6, (byte) 0x80,
        (byte) 0xC6, 0x06, 0x00, 0x05, 0x55,
        (byte) 0xEB, (byte) 0xFE,
    };

    private final List<Integer> bootReports = new CopyOnWriteArrayList<>();
    private final AtomicInteger presses = new AtomicInteger();
    private final AtomicInteger buttonResets = new AtomicInteger();
    private final List<BootRequest> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void needKvmOnX86() {
        String arch = System.getProperty("os.arch");
        assumeTrue("amd64".equals(arch) || "x86_64".equals(arch), "the test firmware is x86 real-mode code");
        KvmAvailability.require();
    }

    @Test
    void resetBootsAgainOnANewVmWithZeroedRamAndPowerDownPressesTheButton() throws Exception {
        MachineConfig config = new MachineConfig("reset-test", Optional.empty(), 1L << 20, 1,
                Path.of("/nonexistent-kernel-the-test-arch-loads-none"), Optional.empty(), "",
                new SerialConfig.None(), false);
        try (LightMachine machine = new LightMachine(config, new TinyX86(), Kvm.DEFAULT_PATH)) {
            machine.start();
            awaitReports(1);
            assertEquals(0, bootReports.get(0), "first boot sees zeroed RAM");
            int[] firstThreads = machine.vcpuThreadIds();

            machine.powerDown();
            assertEquals(1, presses.get(), "system_powerdown presses the architecture's button");

            machine.reset();
            awaitReports(2);
            assertEquals(0, bootReports.get(1), "the reset gives the guest zeroed RAM (the first boot wrote 0x55)");
            assertEquals(RunState.RUNNING, machine.runState());
            assertNotEquals(firstThreads[0], machine.vcpuThreadIds()[0], "new vCPU threads for the new VM");
            assertEquals(1, buttonResets.get(), "the old power button was reset");
            assertEquals(2, requests.size());
            assertEquals(requests.get(0).devices(), requests.get(1).devices(), "same firmware description");
            assertTrue(requests.get(0).devices().stream().anyMatch(d -> d instanceof DeviceDescription.PowerButton),
                    "the power button is described to the firmware tables");

            // A paused machine stays paused across a reset, and runs the firmware once resumed.
            machine.pause();
            assertEquals(RunState.PAUSED, machine.runState());
            machine.reset();
            TimeUnit.MILLISECONDS.sleep(300);
            assertEquals(2, bootReports.size(), "no guest code runs while paused");
            assertTrue(machine.isPaused());
            machine.resume();
            awaitReports(3);
            assertEquals(0, bootReports.get(2));

            machine.stop(new Outcome.Quit("test"));
            assertThrows(IllegalStateException.class, machine::reset, "no reset once stopped");
            assertFalse(machine.runState() == RunState.RUNNING);
        }
    }

    private void awaitReports(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (bootReports.size() < n && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(5);
        }
        assertEquals(n, bootReports.size(), "boot reports on port 0x80");
    }

    /** The test's ISA: RAM at 0 and at the reset vector's page, no in-kernel irqchip, firmware only. */
    private final class TinyX86 implements Architecture {
        @Override
        public String name() {
            return "tiny-x86";
        }

        @Override
        public boolean runsOn(String osArch) {
            return true;
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
            return new MemoryLayout(List.of(new GuestMemory.Region(0, ramBytes), new GuestMemory.Region(RESET_PAGE,
                    0x1_0000)), 0xD000_0000L, 0x200, 0, new MemoryLayout.SerialPlacement(BusKind.PIO, 0x3f8, 0, true));
        }

        @Override
        public long vmType(Kvm kvm, MemoryLayout layout) {
            return 0;
        }

        @Override
        public IrqChip createIrqChip(Vm vm, MemoryLayout layout, int vcpus) {
            return new IrqChip() {
                private int next = 4;

                @Override
                public Irq allocate(IrqUse use) {
                    int n = next++;
                    return new Irq(n, n, n, false);
                }

                @Override
                public void finishAfterVcpus() {
                }

                @Override
                public String description() {
                    return "none";
                }
            };
        }

        @Override
        public List<PlatformDevice> platformDevices(Vm vm, MemoryLayout layout, IrqChip irqChip, GuestPower power) {
            BusDevice port80 = new BusDevice() {
                @Override
                public void read(long offset, byte[] data) {
                }

                @Override
                public void write(long offset, byte[] data) {
                    bootReports.add(data[0] & 0xFF);
                }
            };
            Irq buttonIrq = irqChip.allocate(IrqUse.POWER_BUTTON);
            PowerButton button = new PowerButton() {
                @Override
                public Irq irq() {
                    return buttonIrq;
                }

                @Override
                public void press() {
                    presses.incrementAndGet();
                }

                @Override
                public void reset() {
                    buttonResets.incrementAndGet();
                }

                @Override
                public void read(long offset, byte[] data) {
                }

                @Override
                public void write(long offset, byte[] data) {
                }
            };
            List<PlatformDevice> out = new ArrayList<>();
            out.add(new PlatformDevice("port80", BusKind.PIO, 0x80, 1, port80));
            out.add(new PlatformDevice("button", BusKind.MMIO, 0xFEA0_0300L, 4, button));
            return out;
        }

        @Override
        public BootPlan loadGuest(GuestMemory memory, MemoryLayout layout, BootRequest request) {
            requests.add(request);
            memory.write(RESET_VECTOR, FIRMWARE);
            return new BootPlan(RESET_VECTOR, 0, RESET_VECTOR, RESET_VECTOR + 16, 0, 0, request.commandLine());
        }

        @Override
        public void configureVcpu(Vm vm, Vcpu vcpu, int vcpuCount, BootPlan plan) {
            // The architectural reset state enters at F000:FFF0 = 0xFFFFFFF0.
        }
    }
}
