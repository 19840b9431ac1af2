package dev.mesovirt.arch.riscv64;

import dev.mesovirt.vmm.arch.DeviceDescription;
import dev.mesovirt.vmm.arch.IrqUse;
import dev.mesovirt.vmm.arch.MemoryLayout;
import dev.mesovirt.vmm.boot.ImageHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Machines as the neutral LightMachine describes them, with KVM's facts as a QEMU rv64 host's KVM reports them. */
final class Fixtures {
    private Fixtures() {}

    static final long MIB = 1L << 20;

    /** rv64imafdc (no H for guests) with a few multi-letter extensions, 10 MHz timer, Sv48, 64-byte cache blocks. */
    static HostCpu cpu() {
        long isa = 0;
        for (char c : "imafdc".toCharArray()) {
            isa |= 1L << (c - 'a');
        }
        return new HostCpu(isa, List.of("sstc", "zicbom", "zicboz", "ssaia", "zicntr", "zicsr", "zifencei", "zihpm"),
                10_000_000L, 64, 64, 9);
    }

    static Aia.AiaConfig aia(int vcpus) {
        return new Aia.AiaConfig(AiaMode.AUTO, 255, Riscv64Architecture.APLIC_SOURCES, Aia.hartBits(vcpus),
                Riscv64Architecture.APLIC_BASE, Riscv64Architecture.IMSIC_BASE, vcpus);
    }

    static Riscv64Architecture arch(int vcpus) {
        return new Riscv64Architecture(cpu(), aia(vcpus));
    }

    /** The serial port and {@code virtioSlots} virtio-mmio slots, with interrupts from the AIA's allocator. */
    static List<DeviceDescription> devices(MemoryLayout layout, int virtioSlots) {
        Aia aia = Aia.forTests(aia(1));
        List<DeviceDescription> d = new ArrayList<>();
        MemoryLayout.SerialPlacement sp = layout.serial();
        d.add(new DeviceDescription.Serial(sp.bus(), sp.base(), sp.registerShift(), aia.allocate(IrqUse.SERIAL)));
        for (int i = 0; i < virtioSlots; i++) {
            d.add(new DeviceDescription.VirtioMmio(layout.virtioMmioSlot(i), layout.virtioMmioSlotSize(),
                    aia.allocate(IrqUse.VIRTIO)));
        }
        return d;
    }

    /** A riscv64 Image: the 64-byte header (as Debian's 6.12 kernel has it) and recognisable "code". */
    static byte[] image(long textOffset, long imageSize, int length) {
        byte[] b = new byte[length];
        for (int i = ImageHeader.SIZE; i < length; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, 0x106f5a4d); // "MZ" + a jump, as EFI-stub kernels start
        h.putInt(4, 0x00010d60);
        h.putLong(8, textOffset);
        h.putLong(16, imageSize);
        h.putLong(24, 0);
        h.putInt(32, 2);
        h.putLong(48, 0x5643534952L); // "RISCV"
        h.putInt(56, RiscvImageHeader.MAGIC2);
        h.putInt(60, 0x40);
        return b;
    }

    static byte[] standard() {
        return image(2 * MIB, 4 * MIB, 64 << 10);
    }
}
