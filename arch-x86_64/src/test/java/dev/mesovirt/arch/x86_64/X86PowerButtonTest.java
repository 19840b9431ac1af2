package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform;
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
import dev.mesovirt.vmm.kvm.Kvm;
import dev.mesovirt.vmm.kvm.KvmAvailability;
import dev.mesovirt.vmm.kvm.RequiresKvm;
import dev.mesovirt.vmm.kvm.KvmIoctls;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.sys.Ioctls;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The x86_64 power button as the machine wires it: interrupt, platform device, firmware description. */
@RequiresKvm
class X86PowerButtonTest {
    private static final X86_64Architecture ARCH = new X86_64Architecture();
    /** struct kvm_irqchip: chip_id, pad, then a 512-byte union (asm/kvm.h). */
    private static final int IRQCHIP_SIZE = 520;
    private static final long GET_IRQCHIP = Ioctls.iowr(KvmIoctls.KVMIO, 0x62, IRQCHIP_SIZE);
    private static final int KVM_IRQCHIP_IOAPIC = 2;
    /** struct kvm_ioapic_state.irr, after chip_id/pad (8), base_address (8), ioregsel and id (4 + 4). */
    private static final int IOAPIC_IRR = 8 + 16;

    private static BootRequest request(List<DeviceDescription> devices) {
        return new BootRequest(Path.of("vmlinuz"), Optional.empty(), "", 1, devices);
    }

    private static final DeviceDescription.PowerButton GED = new DeviceDescription.PowerButton(BusKind.MMIO,
            X86_64Architecture.GED_BASE, 4, new Irq(9, 9, 9, true));

    @Test
    void theFirmwareTablesDescribeThePowerButtonOnlyWhenTheMachineHasOne() {
        assertEquals(Optional.empty(), X86_64Architecture.acpiPlatform(request(List.of())).powerButton());
        AcpiPlatform p = X86_64Architecture.acpiPlatform(request(List.of(GED)));
        assertEquals(Optional.of(new AcpiPlatform.PowerButton(0xFEA0_0000L, 9)), p.powerButton());
    }

    @Test
    void rejectsPowerButtonsTheGedCannotDescribe() {
        Irq level = new Irq(9, 9, 9, true);
        Irq edge = new Irq(9, 9, 9, false);
        long base = X86_64Architecture.GED_BASE;
        for (DeviceDescription bad : List.of(
                new DeviceDescription.PowerButton(BusKind.PIO, 0x600, 4, level),
                new DeviceDescription.PowerButton(BusKind.MMIO, base, 2, level),
                new DeviceDescription.PowerButton(BusKind.MMIO, base, 4, edge))) {
            assertThrows(IllegalArgumentException.class, () -> X86_64Architecture.acpiPlatform(request(List.of(bad))),
                    bad.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> X86_64Architecture.acpiPlatform(request(List.of(GED, GED))));
        // A GSI a virtio slot has: AcpiPlatform's validation.
        DeviceDescription virtioOn9 =
                new DeviceDescription.VirtioMmio(X86_64Architecture.VIRTIO_MMIO_BASE, 0x200, level);
        assertThrows(IllegalArgumentException.class,
                () -> X86_64Architecture.acpiPlatform(request(List.of(GED, virtioOn9))));
    }

    /**
     * On this host's KVM: IRQ 9 for the button; the GED among the platform devices, its window clear of every other
     * device; a press raises GSI 9 in KVM's IOAPIC (the pin is still masked, so the level stays pending in IRR) and
     * the guest's read of the selector lowers it again.
     */
    @Test
    void thePowerButtonDrivesIrq9OnTheInKernelIoapic() {
        KvmAvailability.require();
        MemoryLayout layout = ARCH.memoryLayout(MachineType.MICROVM, 256L << 20, 1);
        try (Kvm kvm = Kvm.open(); Vm vm = kvm.createVm(0)) {
            IrqChip chip = ARCH.createIrqChip(vm, layout, 1);
            assertEquals(new Irq(9, 9, 9, true), chip.allocate(IrqUse.POWER_BUTTON));
            assertEquals(new Irq(4, 4, 4, false), chip.allocate(IrqUse.SERIAL));
            assertEquals(new Irq(16, 16, 16, true), chip.allocate(IrqUse.VIRTIO), "the button takes no virtio pin");

            GuestPower power = new GuestPower() {
                @Override
                public void powerOff() {
                    throw new AssertionError("power off");
                }

                @Override
                public void reset() {
                    throw new AssertionError("reset");
                }

                @Override
                public void panic(String detail) {
                    throw new AssertionError(detail);
                }
            };
            List<PlatformDevice> devices = ARCH.platformDevices(vm, layout, chip, power);
            List<PlatformDevice> buttons = devices.stream().filter(d -> d.device() instanceof PowerButton).toList();
            assertEquals(1, buttons.size());
            PlatformDevice ged = buttons.get(0);
            assertEquals(BusKind.MMIO, ged.bus());
            assertEquals(0xFEA0_0000L, ged.base());
            assertEquals(4, ged.length());
            PowerButton button = assertInstanceOf(PowerButton.class, ged.device());
            assertEquals(new Irq(9, 9, 9, true), button.irq());
            List<long[]> mmio = new ArrayList<>();
            for (PlatformDevice d : devices) {
                if (d.bus() == BusKind.MMIO) {
                    mmio.add(new long[] {d.base(), d.length()});
                }
            }
            mmio.add(new long[] {layout.virtioMmioBase(), layout.virtioMmioSlotSize() * layout.virtioMmioSlots()});
            mmio.add(new long[] {AcpiPlatform.DEFAULT_IOAPIC_ADDRESS, 0x1000});
            mmio.add(new long[] {AcpiPlatform.DEFAULT_LAPIC_ADDRESS, 0x1000});
            for (int i = 0; i < mmio.size(); i++) {
                for (int j = i + 1; j < mmio.size(); j++) {
                    long[] a = mmio.get(i);
                    long[] b = mmio.get(j);
                    assertTrue(a[0] + a[1] <= b[0] || b[0] + b[1] <= a[0],
                            "MMIO windows " + i + " and " + j + " overlap");
                }
            }

            assertEquals(0, ioapicIrr(vm) & (1 << 9));
            button.press();
            assertEquals(1 << 9, ioapicIrr(vm) & (1 << 9), "GSI 9 raised");
            byte[] selector = new byte[4];
            button.read(0, selector);
            assertEquals(2, selector[0]);
            assertEquals(0, ioapicIrr(vm) & (1 << 9), "GSI 9 lowered by the read");
            button.press();
            button.reset();
            assertEquals(0, ioapicIrr(vm) & (1 << 9), "and by a reset");
        }
    }

    private static int ioapicIrr(Vm vm) {
        try (Memory chip = new Memory(IRQCHIP_SIZE)) {
            chip.clear();
            chip.setInt(0, KVM_IRQCHIP_IOAPIC);
            vm.ioctl(GET_IRQCHIP, chip, "KVM_GET_IRQCHIP");
            return chip.getInt(IOAPIC_IRR);
        }
    }
}
