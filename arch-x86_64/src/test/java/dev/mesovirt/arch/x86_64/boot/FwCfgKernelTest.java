package dev.mesovirt.arch.x86_64.boot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.mesovirt.vmm.firmware.FwCfg;
import dev.mesovirt.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The items OVMF's QemuKernelLoaderFsDxe reads: setup and kernel rejoin into the file, sizes match the data. */
class FwCfgKernelTest {
    private static int size(FwCfg fw, int key) {
        byte[] b = fw.item(key).orElseThrow();
        assertEquals(4, b.length, "a 32-bit size (QemuFwCfgRead32)");
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    @Test
    void bzImageSplitAtItsSetupSectorsWithInitrdAndCommandLine() throws Exception {
        byte[] file = SyntheticBzImage.create(6, 10_000).build();
        BzImage image = BzImage.parse(file);
        byte[] initrd = "an initrd".getBytes(StandardCharsets.US_ASCII);
        FwCfg.Builder b = FwCfg.builder();
        FwCfgKernel.add(b, image, initrd, "console=ttyS0 marker=42");
        try (GuestMemory memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)))) {
            FwCfg fw = b.build(memory);
            assertEquals(7 * 512, size(fw, FwCfg.SETUP_SIZE), "boot sector and 6 setup sectors");
            assertArrayEquals(Arrays.copyOf(file, 7 * 512), fw.item(FwCfg.SETUP_DATA).orElseThrow());
            assertEquals(file.length - 7 * 512, size(fw, FwCfg.KERNEL_SIZE));
            byte[] joined = new byte[file.length];
            System.arraycopy(fw.item(FwCfg.SETUP_DATA).orElseThrow(), 0, joined, 0, 7 * 512);
            System.arraycopy(fw.item(FwCfg.KERNEL_DATA).orElseThrow(), 0, joined, 7 * 512, file.length - 7 * 512);
            assertArrayEquals(file, joined, "OVMF's \"kernel\" file is the bzImage byte for byte");
            assertEquals(initrd.length, size(fw, FwCfg.INITRD_SIZE));
            assertArrayEquals(initrd, fw.item(FwCfg.INITRD_DATA).orElseThrow());
            byte[] cmdline = "console=ttyS0 marker=42\0".getBytes(StandardCharsets.US_ASCII);
            assertEquals(cmdline.length, size(fw, FwCfg.CMDLINE_SIZE), "the NUL counted, as QEMU does");
            assertArrayEquals(cmdline, fw.item(FwCfg.CMDLINE_DATA).orElseThrow());
        }
    }

    @Test
    void noInitrdIsSizeZeroAndKeysAreQemus() throws Exception {
        FwCfg.Builder b = FwCfg.builder();
        FwCfgKernel.add(b, SyntheticBzImage.parsed(), new byte[0], "");
        try (GuestMemory memory = GuestMemory.allocate(List.of(new GuestMemory.Region(0, 1 << 20)))) {
            FwCfg fw = b.build(memory);
            assertEquals(0, size(fw, FwCfg.INITRD_SIZE));
            assertEquals(1, size(fw, FwCfg.CMDLINE_SIZE), "an empty line is its NUL");
        }
        // include/standard-headers/linux/qemu_fw_cfg.h and EDK2's QemuFwCfgLib agree on these.
        assertEquals(List.of(0x08, 0x0b, 0x11, 0x12, 0x14, 0x15, 0x17, 0x18), List.of(FwCfg.KERNEL_SIZE,
                FwCfg.INITRD_SIZE, FwCfg.KERNEL_DATA, FwCfg.INITRD_DATA, FwCfg.CMDLINE_SIZE, FwCfg.CMDLINE_DATA,
                FwCfg.SETUP_SIZE, FwCfg.SETUP_DATA));
    }

    @Test
    void commandLineLongerThanTheKernelTakesIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> FwCfgKernel.add(FwCfg.builder(), SyntheticBzImage.parsed(), new byte[0], "x".repeat(300_000)));
    }
}
