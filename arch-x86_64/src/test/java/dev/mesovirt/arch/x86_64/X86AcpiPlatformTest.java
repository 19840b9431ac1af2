package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mesovirt.acpi.AcpiImage;
import dev.mesovirt.arch.x86_64.acpi.AcpiPlatform;
import dev.mesovirt.arch.x86_64.acpi.AcpiTables;
import dev.mesovirt.arch.x86_64.boot.E820Entry;
import dev.mesovirt.arch.x86_64.boot.LowMemoryMap;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import dev.mesovirt.vmm.arch.MachineType;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.arch.PciLayout;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** What {@link X86_64Architecture#acpiPlatform} makes of the machine's device descriptions, without a KVM. */
class X86AcpiPlatformTest {

    private static BootRequest request(int vcpus, List<DeviceDescription> devices) {
        return new BootRequest(Path.of("vmlinuz"), Optional.empty(), "", vcpus, devices);
    }

    /** The microVM as LightMachine describes it: COM1, all eight virtio-mmio slots (GSIs 16-23), the GED button. */
    static List<DeviceDescription> microvmDevices() {
        List<DeviceDescription> devices = new ArrayList<>();
        devices.add(new DeviceDescription.Serial(BusKind.PIO, X86_64Architecture.COM1_PORT, 0, new Irq(4, 4, 4, false)));
        for (int i = 0; i < X86_64Architecture.VIRTIO_MMIO_SLOTS; i++) {
            int gsi = X86IrqChip.FIRST_DEVICE_GSI + i;
            devices.add(new DeviceDescription.VirtioMmio(X86_64Architecture.VIRTIO_MMIO_BASE
                    + i * X86_64Architecture.VIRTIO_MMIO_SLOT_SIZE, X86_64Architecture.VIRTIO_MMIO_SLOT_SIZE,
                    new Irq(gsi, gsi, gsi, true)));
        }
        devices.add(new DeviceDescription.PowerButton(BusKind.MMIO, X86_64Architecture.GED_BASE, 4,
                new Irq(9, 9, 9, true)));
        return devices;
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /**
     * The microVM's ACPI image, as loadGuest writes it at 0xE0000, is pinned byte for byte: the digest was taken
     * before the tables learnt to describe a PCI host bridge, which must not change what a microVM guest reads.
     */
    @Test
    void theMicrovmImageIsUnchangedByteForByte() throws Exception {
        AcpiImage image = AcpiTables.build(LowMemoryMap.ACPI_TABLES_ADDR,
                X86_64Architecture.acpiPlatform(request(2, microvmDevices())));
        assertEquals(MICROVM_IMAGE_SHA256, sha256(image.bytes()), "microVM ACPI image changed");
        AcpiImage bare = AcpiTables.build(LowMemoryMap.ACPI_TABLES_ADDR,
                X86_64Architecture.acpiPlatform(request(1, List.of())));
        assertEquals(MICROVM_BARE_IMAGE_SHA256, sha256(bare.bytes()), "microVM ACPI image without devices changed");
    }

    private static final String MICROVM_IMAGE_SHA256 = "56e58d3886f677eaab7d4061593c5fa18e2861d6d077ee8c1582fcc0cf875818";
    private static final String MICROVM_BARE_IMAGE_SHA256 = "9dfe0f2d8abf1c920908108240b908116dbb38b21feec3f1bf5a22884ae2f8c7";

    // ------------------------------------------------------------ the standard machine (q35)

    private static final X86_64Architecture ARCH = new X86_64Architecture();

    /** The four INTx lines as X86IrqChip allocates them for PCI_INTX: GSIs 16-19, level-triggered. */
    private static DeviceDescription.PciHostBridge bridgeOf(PciLayout pci) {
        List<Irq> intx = IntStream.rangeClosed(16, 19).mapToObj(g -> new Irq(g, g, g, true)).toList();
        return new DeviceDescription.PciHostBridge(pci, intx);
    }

    private static List<DeviceDescription> q35Devices(PciLayout pci) {
        return List.of(
                new DeviceDescription.Serial(BusKind.PIO, X86_64Architecture.COM1_PORT, 0, new Irq(4, 4, 4, false)),
                new DeviceDescription.PowerButton(BusKind.MMIO, X86_64Architecture.GED_BASE, 4, new Irq(9, 9, 9, true)),
                bridgeOf(pci));
    }

    /**
     * For machines of several sizes (all RAM below the ECAM window, RAM split at 2 GiB), the tables describe the
     * bridge the layout placed: same windows, and every device's pin on the GSI DeviceDescription.intxOf gives.
     * The image fits the BIOS area below the reset vector, and the e820 map reserves the ECAM window clear of RAM.
     */
    @Test
    void theQ35BridgeIsDescribedAsTheLayoutPlacedIt() {
        for (long ram : new long[] {512L << 20, 2L << 30, 0xAFF0_0000L, 3L << 30, 16L << 30}) {
            MemoryLayout layout = ARCH.memoryLayout(MachineType.STANDARD, ram, 2);
            PciLayout pci = layout.pci().orElseThrow();
            DeviceDescription.PciHostBridge described = bridgeOf(pci);
            BootRequest request = request(2, q35Devices(pci));
            X86_64Architecture.requireBridgeOfLayout(request, layout);
            AcpiPlatform platform = X86_64Architecture.acpiPlatform(request);
            AcpiPlatform.PciHostBridge bridge = platform.pciHostBridge().orElseThrow();
            assertEquals(pci.ecamBase(), bridge.ecamBase());
            assertEquals(pci.buses(), bridge.buses());
            assertEquals(pci.ecamSize(), bridge.ecamSize());
            assertEquals(pci.io().map(w -> new AcpiPlatform.Window(w.base(), w.size())), bridge.io());
            assertEquals(new AcpiPlatform.Window(pci.mmio32().base(), pci.mmio32().size()), bridge.mmio32());
            assertEquals(pci.mmio64().map(w -> new AcpiPlatform.Window(w.base(), w.size())), bridge.mmio64());
            for (int device = 0; device < 32; device++) {
                for (int pin = 0; pin < 4; pin++) {
                    assertEquals(described.intxOf(device, pin).firmwareNumber(), bridge.intxGsiOf(device, pin),
                            "device " + device + " pin " + pin);
                }
            }
            AcpiImage image = AcpiTables.build(LowMemoryMap.ACPI_TABLES_ADDR, platform);
            assertTrue(image.endAddress() <= X86_64Architecture.RESET_VECTOR, image.toString());

            List<E820Entry> map = X86_64Architecture.e820(layout);
            E820Entry ecam = E820Entry.reserved(pci.ecamBase(), pci.ecamSize());
            assertTrue(map.contains(ecam), "ram " + ram + ": " + map);
            long ramInMap = 0;
            for (E820Entry e : map) {
                if (e.type() == E820Entry.RAM) {
                    ramInMap += e.size();
                    assertFalse(e.overlaps(ecam), e + " overlaps the ECAM window");
                    assertFalse(e.overlaps(new E820Entry(pci.mmio32().base(), pci.mmio32().size(), E820Entry.RESERVED)),
                            e + " overlaps the 32-bit window");
                    pci.mmio64().ifPresent(w -> assertFalse(
                            e.overlaps(new E820Entry(w.base(), w.size(), E820Entry.RESERVED)), e + " vs 64-bit window"));
                }
            }
            // All of RAM but the EBDA and the BIOS area is usable.
            assertEquals(ram - (LowMemoryMap.HIMEM_START - LowMemoryMap.EBDA_ADDR), ramInMap, "ram " + ram);
        }
    }

    @Test
    void theMicrovmMapHasNoEcamWindow() {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.MICROVM, 4L << 30, 1);
        assertEquals(LowMemoryMap.e820(X86_64Architecture.LOW_RAM_LIMIT, 1L << 30), X86_64Architecture.e820(layout));
        X86_64Architecture.requireBridgeOfLayout(request(1, microvmDevices()), layout);
    }

    @Test
    void rejectsBridgesX86CannotDescribe() {
        PciLayout pci = ARCH.memoryLayout(MachineType.STANDARD, 2L << 30, 1).pci().orElseThrow();
        List<Irq> edge = IntStream.rangeClosed(16, 19).mapToObj(g -> new Irq(g, g, g, g != 18)).toList();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> X86_64Architecture.acpiPlatform(
                request(1, List.of(new DeviceDescription.PciHostBridge(pci, edge)))));
        assertTrue(e.getMessage().contains("PCI INTx lines are level-triggered"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> X86_64Architecture.acpiPlatform(request(1, List.of(bridgeOf(pci), bridgeOf(pci)))));
        assertTrue(e.getMessage().contains("more than one PCI host bridge"), e.getMessage());

        PciLayout noCf8 = new PciLayout(pci.ecamBase(), pci.buses(), pci.io(), pci.mmio32(), pci.mmio64(), false,
                PciLayout.HostBridgeId.Q35_MCH);
        e = assertThrows(IllegalArgumentException.class,
                () -> X86_64Architecture.acpiPlatform(request(1, List.of(bridgeOf(noCf8)))));
        assertTrue(e.getMessage().contains("configuration mechanism #1"), e.getMessage());

        // INTx GSIs the virtio slots have: AcpiPlatform's validation.
        List<DeviceDescription> clash = new ArrayList<>(microvmDevices());
        clash.add(bridgeOf(pci));
        assertThrows(IllegalArgumentException.class, () -> X86_64Architecture.acpiPlatform(request(1, clash)));
    }

    @Test
    void theDescribedBridgeMustBeTheLayouts() {
        MemoryLayout layout = ARCH.memoryLayout(MachineType.STANDARD, 2L << 30, 1);
        PciLayout pci = layout.pci().orElseThrow();
        PciLayout other = new PciLayout(pci.ecamBase(), 128, pci.io(), pci.mmio32(), pci.mmio64(), true,
                PciLayout.HostBridgeId.Q35_MCH);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> X86_64Architecture.requireBridgeOfLayout(request(1, q35Devices(other)), layout));
        assertTrue(e.getMessage().contains("is not the memory layout's"), e.getMessage());
        MemoryLayout microvm = ARCH.memoryLayout(MachineType.MICROVM, 2L << 30, 1);
        assertThrows(IllegalArgumentException.class,
                () -> X86_64Architecture.requireBridgeOfLayout(request(1, q35Devices(pci)), microvm));

        // A layout whose RAM runs into the 32-bit window.
        MemoryLayout clashing = new MemoryLayout(List.of(new GuestMemory.Region(0, 0xC800_0000L)), 0, 0x200, 0,
                layout.serial(), Optional.of(new PciLayout(0xA000_0000L, 16, pci.io(), pci.mmio32(), pci.mmio64(),
                        true, PciLayout.HostBridgeId.Q35_MCH)));
        e = assertThrows(IllegalArgumentException.class,
                () -> X86_64Architecture.requireBridgeOfLayout(request(1, List.of()), clashing));
        assertTrue(e.getMessage().contains("overlaps RAM at 0x0"), e.getMessage());
    }
}
