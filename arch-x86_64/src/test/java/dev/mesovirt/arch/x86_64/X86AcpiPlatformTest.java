package dev.mesovirt.arch.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mesovirt.arch.x86_64.acpi.AcpiImage;
import dev.mesovirt.arch.x86_64.acpi.AcpiTables;
import dev.mesovirt.arch.x86_64.boot.LowMemoryMap;
import dev.mesovirt.vmm.arch.BootRequest;
import dev.mesovirt.vmm.arch.BusKind;
import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.Irq;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
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
}
