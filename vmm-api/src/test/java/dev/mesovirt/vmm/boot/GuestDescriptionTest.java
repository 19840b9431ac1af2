package dev.mesovirt.vmm.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class GuestDescriptionTest {
    private static final MemoryLayout LAYOUT = new MemoryLayout(
            List.of(new GuestMemory.Region(0x4000_0000L, 1L << 28)),
            0x0a00_0000L, 0x200, 4, new MemoryLayout.SerialPlacement(BusKind.MMIO, 0x0900_0000L, 2, false));
    private static final Irq DEFAULT = new Irq(0, 0, 0, true);
    private static final BootPlacement NO_INITRD = new BootPlacement(0x4000_0000L, 0x4100_0000L, 0, 0, 0x4fe0_0000L);

    private static GuestDescription of(List<DeviceDescription> devices, BootPlacement placement) {
        BootRequest request = new BootRequest(Path.of("Image"), Optional.empty(), "quiet", 1, devices);
        return GuestDescription.of("toy64", LAYOUT, request, placement, new byte[] {9}, DEFAULT);
    }

    @Test
    void theLayoutsUartUnlessTheRequestDescribesOne() {
        GuestDescription none = of(List.of(), NO_INITRD);
        assertEquals(new DeviceDescription.Serial(BusKind.MMIO, 0x0900_0000L, 2, DEFAULT), none.serial());
        assertEquals(32, none.serialSize());
        assertEquals(LAYOUT.ram(), none.ram());
        assertEquals("quiet", none.bootargs());
        assertEquals(Optional.empty(), none.initrdStart());

        DeviceDescription.Serial described = new DeviceDescription.Serial(BusKind.MMIO, 0x0900_1000L, 0,
                new Irq(1, 1, 1, false));
        DeviceDescription.VirtioMmio slot = new DeviceDescription.VirtioMmio(0x0a00_0000L, 0x200,
                new Irq(2, 2, 2, false));
        DeviceDescription.PowerButton button = new DeviceDescription.PowerButton(BusKind.MMIO, 0x0903_0000L, 0x1000,
                new Irq(3, 3, 3, true));
        GuestDescription all = of(List.of(described, slot, button),
                new BootPlacement(0x4000_0000L, 0x4100_0000L, 0x4f00_0000L, 1000, 0x4fe0_0000L));
        assertEquals(described, all.serial());
        assertEquals(List.of(slot), all.virtio());
        assertEquals(Optional.of(button), all.powerButton());
        assertEquals(Optional.of(0x4f00_0000L), all.initrdStart());
        assertEquals(1000, all.initrdSize());
    }

    @Test
    void noPortIoAndOnePciHostBridge() {
        String pio = assertThrows(IllegalArgumentException.class, () -> of(List.of(new DeviceDescription.Serial(
                BusKind.PIO, 0x3f8, 0, DEFAULT)), NO_INITRD)).getMessage();
        assertEquals("toy64 has no port I/O: the UART must be on MMIO", pio);
        PciLayout pci = new PciLayout(0x3000_0000L, 1, Optional.empty(),
                new PciLayout.Window(0x1000_0000L, 0x1000_0000L), Optional.empty(), false,
                PciLayout.HostBridgeId.Q35_MCH);
        Irq intx = new Irq(5, 5, 5, true);
        DeviceDescription.PciHostBridge host = new DeviceDescription.PciHostBridge(pci, List.of(intx, intx, intx, intx));
        assertEquals(Optional.empty(), of(List.of(), NO_INITRD).pci());
        assertEquals(Optional.of(host), of(List.of(host), NO_INITRD).pci());
        String bridge = assertThrows(IllegalArgumentException.class, () -> of(List.of(host, host), NO_INITRD))
                .getMessage();
        assertEquals("toy64: one PCI host bridge per machine", bridge);
    }
}
