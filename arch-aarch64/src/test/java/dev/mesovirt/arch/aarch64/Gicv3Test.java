package dev.mesovirt.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.IrqUse;
import org.junit.jupiter.api.Test;

class Gicv3Test {
    @Test
    void serialIsSpiZeroLevelTriggered() {
        Gicv3 gic = new Gicv3(null, 128, "test");
        Irq serial = gic.allocate(IrqUse.SERIAL);
        assertEquals(new Irq(0, 0x0100_0020, 0, true), serial);
        assertEquals(serial, gic.allocate(IrqUse.SERIAL));
    }

    @Test
    void virtioSpisCountUpFromOneEdgeTriggered() {
        Gicv3 gic = new Gicv3(null, 128, "test");
        gic.allocate(IrqUse.SERIAL);
        Irq first = gic.allocate(IrqUse.VIRTIO);
        Irq second = gic.allocate(IrqUse.VIRTIO);
        // gsi for irqfd's default routing (SPI n = GSI n), KVM_IRQ_LINE word, device tree GIC_SPI number.
        assertEquals(new Irq(1, 0x0100_0021, 1, false), first);
        assertEquals(new Irq(2, 0x0100_0022, 2, false), second);
        assertFalse(first.levelTriggered());
    }

    @Test
    void everyVirtioSlotGetsAnSpi() {
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        for (int i = 0; i < Aarch64Architecture.VIRTIO_MMIO_SLOTS; i++) {
            Irq irq = gic.allocate(IrqUse.VIRTIO);
            assertTrue(Arm64Kvm.SPI_BASE + irq.firmwareNumber() < Aarch64Architecture.GIC_NR_IRQS);
        }
    }

    @Test
    void powerButtonHasAFixedLevelSpiThatVirtioSkips() {
        Gicv3 gic = new Gicv3(null, Aarch64Architecture.GIC_NR_IRQS, "test");
        Irq button = gic.allocate(IrqUse.POWER_BUTTON);
        assertEquals(33, Gicv3.POWER_BUTTON_SPI);
        assertEquals(new Irq(33, 0x0100_0041, 33, true), button);
        for (int i = 0; i < Aarch64Architecture.VIRTIO_MMIO_SLOTS; i++) {
            assertEquals(1 + i, gic.allocate(IrqUse.VIRTIO).gsi());
        }
        // Should more virtio interrupts ever be allocated, they go around the button's and the RTC's.
        assertEquals(34, Gicv3.RTC_SPI);
        assertEquals(35, gic.allocate(IrqUse.VIRTIO).gsi());
        assertEquals(button, gic.allocate(IrqUse.POWER_BUTTON));
    }

    @Test
    void tooSmallAGicHasNoPowerButtonSpi() {
        Gicv3 gic = new Gicv3(null, 64, "test");
        String m = assertThrows(IllegalArgumentException.class, () -> gic.allocate(IrqUse.POWER_BUTTON)).getMessage();
        assertTrue(m.contains("power button"), m);
    }

    @Test
    void runsOutOfSpis() {
        Gicv3 gic = new Gicv3(null, 64, "test");
        for (int i = 1; i < 32; i++) {
            assertEquals(i, gic.allocate(IrqUse.VIRTIO).gsi());
        }
        String m = assertThrows(IllegalArgumentException.class, () -> gic.allocate(IrqUse.VIRTIO)).getMessage();
        assertTrue(m.contains("no SPI left"), m);
    }

    @Test
    void nrIrqsBounds() {
        Gicv3.validateNrIrqs(64);
        Gicv3.validateNrIrqs(128);
        Gicv3.validateNrIrqs(1024);
        assertThrows(IllegalArgumentException.class, () -> Gicv3.validateNrIrqs(32));
        assertThrows(IllegalArgumentException.class, () -> Gicv3.validateNrIrqs(100));
        assertThrows(IllegalArgumentException.class, () -> Gicv3.validateNrIrqs(1056));
    }

    /** Without an ITS the GIC takes no MSIs (the microVM); with one, routes carry the requester as device ID. */
    @Test
    void msiRoutesThroughTheIts() {
        Gicv3 plain = new Gicv3(null, 128, "plain");
        assertFalse(plain.supportsMsi());
        assertThrows(IllegalStateException.class, plain::firstMsiGsi);
        assertThrows(IllegalStateException.class, () -> plain.msiRoute(96, 0x0809_0040L, 0, 8));

        Gicv3 its = new Gicv3(null, 128, "its", java.util.Optional.empty(),
                java.util.OptionalLong.of(Aarch64Architecture.GIC_ITS_BASE));
        assertTrue(its.supportsMsi());
        assertEquals(96, its.firstMsiGsi(), "after the 96 SPIs' GSIs");
        java.util.List<dev.mesovirt.vmm.kvm.GsiRoute> defaults = its.defaultRoutes();
        assertEquals(96, defaults.size());
        for (int spi = 0; spi < 96; spi++) {
            assertEquals(new dev.mesovirt.vmm.kvm.GsiRoute.IrqchipPin(spi, 0, spi), defaults.get(spi));
        }
        // 01:00.0 writes event 3 to GITS_TRANSLATER.
        assertEquals(new dev.mesovirt.vmm.kvm.GsiRoute.Msi(100, 0x0809_0040L, 3, java.util.OptionalInt.of(0x100)),
                its.msiRoute(100, 0x0809_0040L, 3, 0x100));
        assertEquals(0x0809_0040L, Aarch64Architecture.GIC_ITS_BASE + Arm64Kvm.GITS_TRANSLATER);
    }
}
