package dev.mesovirt.arch.x86_64.boot;

import static dev.mesovirt.arch.x86_64.boot.BootProtocol.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BootParamsTest {

    private static final List<E820Entry> MAP = LowMemoryMap.e820(256L << 20, 0);

    private static BootParams.Builder complete(BzImage k) {
        return BootParams.builder(k).kernelLoadAddress(0x100_0000).commandLine(0x20000).e820(MAP);
    }

    private static ByteBuffer le(byte[] page) {
        return ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void writesLoaderFieldsIntoTheCopiedHeader() {
        BzImage k = SyntheticBzImage.parsed();
        byte[] page = complete(k).ramdisk(0x0F00_0000L, 0x0123_4000L).acpiRsdp(0xE0000).build();
        ByteBuffer b = le(page);
        assertEquals(ZERO_PAGE_SIZE, page.length);
        assertEquals(0xFF, b.get(HDR_TYPE_OF_LOADER) & 0xFF);
        assertEquals(LOADED_HIGH | CAN_USE_HEAP, b.get(HDR_LOADFLAGS) & 0xFF);
        assertEquals(0xDE00, b.getShort(HDR_HEAP_END_PTR) & 0xFFFF);
        assertEquals(0xFFFF, b.getShort(HDR_VID_MODE) & 0xFFFF);
        assertEquals(0x100_0000, b.getInt(HDR_CODE32_START));
        assertEquals(0x20000, b.getInt(HDR_CMD_LINE_PTR));
        assertEquals(0, b.getInt(ZP_EXT_CMD_LINE_PTR));
        assertEquals(0x0F00_0000, b.getInt(HDR_RAMDISK_IMAGE));
        assertEquals(0, b.getInt(ZP_EXT_RAMDISK_IMAGE));
        assertEquals(0x0123_4000, b.getInt(HDR_RAMDISK_SIZE));
        assertEquals(0, b.getInt(ZP_EXT_RAMDISK_SIZE));
        assertEquals(0xE0000L, b.getLong(ZP_ACPI_RSDP_ADDR));
        assertEquals(0L, b.getLong(HDR_SETUP_DATA));
        // Kernel-owned fields come through unchanged.
        assertEquals(0xAA55, b.getShort(HDR_BOOT_FLAG) & 0xFFFF);
        assertEquals(HDRS_MAGIC, b.getInt(HDR_HEADER));
        assertEquals(0x020F, b.getShort(HDR_VERSION));
        assertEquals(SyntheticBzImage.INIT_SIZE, b.getInt(HDR_INIT_SIZE));
        assertEquals(SyntheticBzImage.PREF_ADDRESS, b.getLong(HDR_PREF_ADDRESS));
        assertEquals(2047, b.getInt(HDR_CMDLINE_SIZE));
    }

    @Test
    void copiesOnlyTheSetupHeader() {
        BzImage k = SyntheticBzImage.parsed();
        byte[] page = complete(k).build();
        // The image has 0xFF at the sentinel and 0xCC boot-sector filler before 0x1F1: none of it is copied.
        assertEquals(0, page[ZP_SENTINEL]);
        for (int i = 0; i < HDR_START; i++) {
            if (i != ZP_E820_ENTRIES) {
                assertEquals(0, page[i], "byte 0x" + Integer.toHexString(i));
            }
        }
        // The real-mode code after the header (0xEE filler in the image) is not copied either.
        for (int i = HDR_END_2_15; i < ZP_E820_TABLE; i++) {
            assertEquals(0, page[i], "byte 0x" + Integer.toHexString(i));
        }
        // Header bytes the loader does not write are the image's.
        byte[] header = k.setupHeader();
        assertArrayEquals(Arrays.copyOfRange(header, 0, HDR_VID_MODE - HDR_START),
                Arrays.copyOfRange(page, HDR_START, HDR_VID_MODE));
        assertArrayEquals(Arrays.copyOfRange(header, HDR_CMD_LINE_PTR + 4 - HDR_START, HDR_SETUP_DATA - HDR_START),
                Arrays.copyOfRange(page, HDR_CMD_LINE_PTR + 4, HDR_SETUP_DATA));
    }

    @Test
    void encodesTheE820Table() {
        BzImage k = SyntheticBzImage.parsed();
        List<E820Entry> map = LowMemoryMap.e820(0xC000_0000L, 1L << 30);
        byte[] page = complete(k).e820(map).build();
        ByteBuffer b = le(page);
        assertEquals(5, b.get(ZP_E820_ENTRIES));
        for (int i = 0; i < map.size(); i++) {
            int at = ZP_E820_TABLE + i * 20;
            assertEquals(map.get(i).addr(), b.getLong(at));
            assertEquals(map.get(i).size(), b.getLong(at + 8));
            assertEquals(map.get(i).type(), b.getInt(at + 16));
        }
        assertEquals(1L << 32, b.getLong(ZP_E820_TABLE + 4 * 20));
        // Nothing after the last entry.
        for (int i = ZP_E820_TABLE + map.size() * 20; i < ZERO_PAGE_SIZE; i++) {
            assertEquals(0, page[i]);
        }
    }

    @Test
    void fullE820TableFits() {
        BzImage k = SyntheticBzImage.parsed();
        E820Entry[] map = new E820Entry[128];
        for (int i = 0; i < map.length; i++) {
            map[i] = E820Entry.ram((long) i << 20, 1L << 19);
        }
        byte[] page = complete(k).e820(List.of(map)).build();
        assertEquals(128, page[ZP_E820_ENTRIES] & 0xFF);
        assertEquals(127L << 20, le(page).getLong(ZP_E820_TABLE + 127 * 20));
    }

    @Test
    void highHalvesGoToTheExtFields() {
        BzImage k = SyntheticBzImage.parsed(); // has XLF_CAN_BE_LOADED_ABOVE_4G
        byte[] page = complete(k).commandLine(0x1_2345_6000L).ramdisk(0x2_0000_1000L, 0x1_0000_0200L).build();
        ByteBuffer b = le(page);
        assertEquals(0x2345_6000, b.getInt(HDR_CMD_LINE_PTR));
        assertEquals(1, b.getInt(ZP_EXT_CMD_LINE_PTR));
        assertEquals(0x0000_1000, b.getInt(HDR_RAMDISK_IMAGE));
        assertEquals(2, b.getInt(ZP_EXT_RAMDISK_IMAGE));
        assertEquals(0x200, b.getInt(HDR_RAMDISK_SIZE));
        assertEquals(1, b.getInt(ZP_EXT_RAMDISK_SIZE));
    }

    @Test
    void above4GiBNeedsTheKernelsPermission() throws Exception {
        BzImage k = BzImage.parse(SyntheticBzImage.create().u16(HDR_XLOADFLAGS, XLF_KERNEL_64).build());
        assertThrows(IllegalStateException.class, () -> complete(k).commandLine(1L << 32).build());
        assertThrows(IllegalStateException.class, () -> complete(k).ramdisk(0xFFFF_F000L, 0x2000).build());
        complete(k).ramdisk(0xFFFF_E000L, 0x2000).build(); // ends exactly at 4 GiB
    }

    @Test
    void noInitrdLeavesTheFieldsZero() {
        BzImage k = SyntheticBzImage.parsed();
        ByteBuffer b = le(complete(k).ramdisk(0x1234_5000, 0).build());
        assertEquals(0, b.getInt(HDR_RAMDISK_IMAGE));
        assertEquals(0, b.getInt(HDR_RAMDISK_SIZE));
    }

    @Test
    void placementSetsLoadAddressAndInitrd() throws Exception {
        BzImage k = SyntheticBzImage.parsed();
        KernelPlacement p = KernelPlacement.compute(k, 256L << 20, 5L << 20);
        ByteBuffer b = le(BootParams.builder(k).placement(p).commandLine(0x20000).e820(MAP).build());
        assertEquals(p.kernelLoadAddress(), b.getInt(HDR_CODE32_START));
        assertEquals(p.initrdAddress(), b.getInt(HDR_RAMDISK_IMAGE));
        assertEquals(p.initrdSize(), b.getInt(HDR_RAMDISK_SIZE));
    }

    @Test
    void requiredFieldsAndArgumentChecks() {
        BzImage k = SyntheticBzImage.parsed();
        assertThrows(IllegalStateException.class,
                () -> BootParams.builder(k).kernelLoadAddress(0x100000).e820(MAP).build());
        assertThrows(IllegalStateException.class,
                () -> BootParams.builder(k).commandLine(0x20000).e820(MAP).build());
        assertThrows(IllegalStateException.class,
                () -> BootParams.builder(k).commandLine(0x20000).kernelLoadAddress(0x100000).build());
        assertThrows(IllegalArgumentException.class, () -> BootParams.builder(k).kernelLoadAddress(1L << 32));
        assertThrows(IllegalArgumentException.class, () -> BootParams.builder(k).commandLine(0));
        assertThrows(IllegalArgumentException.class, () -> BootParams.builder(k).ramdisk(0, 100));
        assertThrows(IllegalArgumentException.class, () -> BootParams.builder(k).heapEndPtr(0x10000));
        assertThrows(IllegalArgumentException.class, () -> BootParams.builder(k).e820(List.of()));
        assertThrows(NullPointerException.class, () -> BootParams.builder(null));
    }

    @Test
    void customHeapEnd() {
        BzImage k = SyntheticBzImage.parsed();
        assertEquals(0xFE00, le(complete(k).heapEndPtr(0xFE00).build()).getShort(HDR_HEAP_END_PTR) & 0xFFFF);
    }
}
