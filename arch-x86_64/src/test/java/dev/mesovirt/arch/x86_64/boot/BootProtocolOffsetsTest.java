package dev.mesovirt.arch.x86_64.boot;

import static dev.mesovirt.arch.x86_64.boot.BootProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Checks every offset constant against the layout of {@code struct setup_header} and {@code struct boot_params}
 * in {@code arch/x86/include/uapi/asm/bootparam.h}: the structs are transcribed below field by field (name and
 * C size, both packed), the offsets are computed by summing the sizes, and the result must match both the
 * constants and the offsets written in the kernel's own comments / boot.rst's table.
 */
class BootProtocolOffsetsTest {

    /** {@code struct setup_header}, packed, as in bootparam.h. */
    private static final Object[][] SETUP_HEADER = {
            {"setup_sects", 1}, {"root_flags", 2}, {"syssize", 4}, {"ram_size", 2}, {"vid_mode", 2},
            {"root_dev", 2}, {"boot_flag", 2}, {"jump", 2}, {"header", 4}, {"version", 2},
            {"realmode_swtch", 4}, {"start_sys_seg", 2}, {"kernel_version", 2}, {"type_of_loader", 1},
            {"loadflags", 1}, {"setup_move_size", 2}, {"code32_start", 4}, {"ramdisk_image", 4},
            {"ramdisk_size", 4}, {"bootsect_kludge", 4}, {"heap_end_ptr", 2}, {"ext_loader_ver", 1},
            {"ext_loader_type", 1}, {"cmd_line_ptr", 4}, {"initrd_addr_max", 4}, {"kernel_alignment", 4},
            {"relocatable_kernel", 1}, {"min_alignment", 1}, {"xloadflags", 2}, {"cmdline_size", 4},
            {"hardware_subarch", 4}, {"hardware_subarch_data", 8}, {"payload_offset", 4},
            {"payload_length", 4}, {"setup_data", 8}, {"pref_address", 8}, {"init_size", 4},
            {"handover_offset", 4}, {"kernel_info_offset", 4},
    };

    /**
     * {@code struct boot_params}, packed, as in bootparam.h; nested structs by their sizes: screen_info 0x40,
     * apm_bios_info 0x14, ist_info 0x10, sys_desc_table 0x10, olpc_ofw_header 0x10, edid_info 0x80,
     * efi_info 0x20, edd_info 82 (EDDMAXNR = 6), EDD_MBR_SIG_MAX = 16.
     */
    private static final Object[][] BOOT_PARAMS = {
            {"screen_info", 0x40}, {"apm_bios_info", 0x14}, {"_pad2", 4}, {"tboot_addr", 8},
            {"ist_info", 0x10}, {"acpi_rsdp_addr", 8}, {"_pad3", 8}, {"hd0_info", 16}, {"hd1_info", 16},
            {"sys_desc_table", 0x10}, {"olpc_ofw_header", 0x10}, {"ext_ramdisk_image", 4},
            {"ext_ramdisk_size", 4}, {"ext_cmd_line_ptr", 4}, {"_pad4", 116}, {"edid_info", 0x80},
            {"efi_info", 0x20}, {"alt_mem_k", 4}, {"scratch", 4}, {"e820_entries", 1}, {"eddbuf_entries", 1},
            {"edd_mbr_sig_buf_entries", 1}, {"kbd_status", 1}, {"secure_boot", 1}, {"_pad5", 2},
            {"sentinel", 1}, {"_pad6", 1}, {"hdr", 0x7B}, {"_pad7", 0x290 - 0x1F1 - 0x7B},
            {"edd_mbr_sig_buffer", 16 * 4}, {"e820_table", 128 * 20}, {"_pad8", 48}, {"eddbuf", 6 * 82},
            {"_pad9", 276},
    };

    private static Map<String, Integer> layout(Object[][] fields, int start) {
        Map<String, Integer> offsets = new LinkedHashMap<>();
        int offset = start;
        for (Object[] f : fields) {
            offsets.put((String) f[0], offset);
            offset += (Integer) f[1];
        }
        offsets.put("<end>", offset);
        return offsets;
    }

    @Test
    void setupHeaderOffsetsMatchTheStruct() {
        Map<String, Integer> o = layout(SETUP_HEADER, 0x1F1);
        assertEquals(HDR_START, o.get("setup_sects"));
        assertEquals(HDR_SETUP_SECTS, o.get("setup_sects"));
        assertEquals(HDR_ROOT_FLAGS, o.get("root_flags"));
        assertEquals(HDR_SYSSIZE, o.get("syssize"));
        assertEquals(HDR_RAM_SIZE, o.get("ram_size"));
        assertEquals(HDR_VID_MODE, o.get("vid_mode"));
        assertEquals(HDR_ROOT_DEV, o.get("root_dev"));
        assertEquals(HDR_BOOT_FLAG, o.get("boot_flag"));
        assertEquals(HDR_JUMP, o.get("jump"));
        assertEquals(HDR_HEADER, o.get("header"));
        assertEquals(HDR_VERSION, o.get("version"));
        assertEquals(HDR_REALMODE_SWTCH, o.get("realmode_swtch"));
        assertEquals(HDR_START_SYS_SEG, o.get("start_sys_seg"));
        assertEquals(HDR_KERNEL_VERSION, o.get("kernel_version"));
        assertEquals(HDR_TYPE_OF_LOADER, o.get("type_of_loader"));
        assertEquals(HDR_LOADFLAGS, o.get("loadflags"));
        assertEquals(HDR_SETUP_MOVE_SIZE, o.get("setup_move_size"));
        assertEquals(HDR_CODE32_START, o.get("code32_start"));
        assertEquals(HDR_RAMDISK_IMAGE, o.get("ramdisk_image"));
        assertEquals(HDR_RAMDISK_SIZE, o.get("ramdisk_size"));
        assertEquals(HDR_BOOTSECT_KLUDGE, o.get("bootsect_kludge"));
        assertEquals(HDR_HEAP_END_PTR, o.get("heap_end_ptr"));
        assertEquals(HDR_EXT_LOADER_VER, o.get("ext_loader_ver"));
        assertEquals(HDR_EXT_LOADER_TYPE, o.get("ext_loader_type"));
        assertEquals(HDR_CMD_LINE_PTR, o.get("cmd_line_ptr"));
        assertEquals(HDR_INITRD_ADDR_MAX, o.get("initrd_addr_max"));
        assertEquals(HDR_KERNEL_ALIGNMENT, o.get("kernel_alignment"));
        assertEquals(HDR_RELOCATABLE_KERNEL, o.get("relocatable_kernel"));
        assertEquals(HDR_MIN_ALIGNMENT, o.get("min_alignment"));
        assertEquals(HDR_XLOADFLAGS, o.get("xloadflags"));
        assertEquals(HDR_CMDLINE_SIZE, o.get("cmdline_size"));
        assertEquals(HDR_HARDWARE_SUBARCH, o.get("hardware_subarch"));
        assertEquals(HDR_HARDWARE_SUBARCH_DATA, o.get("hardware_subarch_data"));
        assertEquals(HDR_PAYLOAD_OFFSET, o.get("payload_offset"));
        assertEquals(HDR_PAYLOAD_LENGTH, o.get("payload_length"));
        assertEquals(HDR_SETUP_DATA, o.get("setup_data"));
        assertEquals(HDR_PREF_ADDRESS, o.get("pref_address"));
        assertEquals(HDR_INIT_SIZE, o.get("init_size"));
        assertEquals(HDR_HANDOVER_OFFSET, o.get("handover_offset"));
        assertEquals(HDR_KERNEL_INFO_OFFSET, o.get("kernel_info_offset"));
        assertEquals(HDR_END_2_15, o.get("<end>"));
    }

    @Test
    void setupHeaderOffsetsMatchBootRstTable() {
        // The Offset/Size column of boot.rst's header table, literally.
        assertEquals(0x1F1, HDR_SETUP_SECTS);
        assertEquals(0x1FE, HDR_BOOT_FLAG);
        assertEquals(0x202, HDR_HEADER);
        assertEquals(0x206, HDR_VERSION);
        assertEquals(0x210, HDR_TYPE_OF_LOADER);
        assertEquals(0x211, HDR_LOADFLAGS);
        assertEquals(0x214, HDR_CODE32_START);
        assertEquals(0x218, HDR_RAMDISK_IMAGE);
        assertEquals(0x21C, HDR_RAMDISK_SIZE);
        assertEquals(0x224, HDR_HEAP_END_PTR);
        assertEquals(0x228, HDR_CMD_LINE_PTR);
        assertEquals(0x22C, HDR_INITRD_ADDR_MAX);
        assertEquals(0x230, HDR_KERNEL_ALIGNMENT);
        assertEquals(0x234, HDR_RELOCATABLE_KERNEL);
        assertEquals(0x236, HDR_XLOADFLAGS);
        assertEquals(0x238, HDR_CMDLINE_SIZE);
        assertEquals(0x258, HDR_PREF_ADDRESS);
        assertEquals(0x260, HDR_INIT_SIZE);
    }

    @Test
    void bootParamsOffsetsMatchTheStruct() {
        Map<String, Integer> o = layout(BOOT_PARAMS, 0);
        // The kernel's own offset comments.
        assertEquals(0x040, o.get("apm_bios_info"));
        assertEquals(0x058, o.get("tboot_addr"));
        assertEquals(0x060, o.get("ist_info"));
        assertEquals(0x0A0, o.get("sys_desc_table"));
        assertEquals(0x0B0, o.get("olpc_ofw_header"));
        assertEquals(0x140, o.get("edid_info"));
        assertEquals(0x1C0, o.get("efi_info"));
        assertEquals(0x290, o.get("edd_mbr_sig_buffer"));
        assertEquals(0xCD0, o.get("_pad8"));
        assertEquals(0xD00, o.get("eddbuf"));
        assertEquals(0xEEC, o.get("_pad9"));
        // Our constants.
        assertEquals(ZP_ACPI_RSDP_ADDR, o.get("acpi_rsdp_addr"));
        assertEquals(0x070, ZP_ACPI_RSDP_ADDR);
        assertEquals(ZP_EXT_RAMDISK_IMAGE, o.get("ext_ramdisk_image"));
        assertEquals(0x0C0, ZP_EXT_RAMDISK_IMAGE);
        assertEquals(ZP_EXT_RAMDISK_SIZE, o.get("ext_ramdisk_size"));
        assertEquals(0x0C4, ZP_EXT_RAMDISK_SIZE);
        assertEquals(ZP_EXT_CMD_LINE_PTR, o.get("ext_cmd_line_ptr"));
        assertEquals(0x0C8, ZP_EXT_CMD_LINE_PTR);
        assertEquals(ZP_ALT_MEM_K, o.get("alt_mem_k"));
        assertEquals(ZP_E820_ENTRIES, o.get("e820_entries"));
        assertEquals(0x1E8, ZP_E820_ENTRIES);
        assertEquals(ZP_SENTINEL, o.get("sentinel"));
        assertEquals(0x1EF, ZP_SENTINEL);
        assertEquals(HDR_START, o.get("hdr"));
        assertEquals(HDR_ROOM_END, o.get("edd_mbr_sig_buffer"));
        assertEquals(ZP_E820_TABLE, o.get("e820_table"));
        assertEquals(0x2D0, ZP_E820_TABLE);
        assertEquals(ZERO_PAGE_SIZE, o.get("<end>"));
        assertEquals(E820_MAX_ENTRIES * E820_ENTRY_SIZE, o.get("_pad8") - o.get("e820_table"));
    }

    @Test
    void magicNumbersAndFlags() {
        assertEquals(0x53726448, HDRS_MAGIC);
        assertEquals(HDRS_MAGIC, java.nio.ByteBuffer.wrap("HdrS".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
        assertEquals(0xAA55, BOOT_FLAG_MAGIC);
        assertEquals(0x01, LOADED_HIGH);
        assertEquals(0x80, CAN_USE_HEAP);
        assertEquals(0x01, XLF_KERNEL_64);
        assertEquals(0x02, XLF_CAN_BE_LOADED_ABOVE_4G);
        assertEquals(0x020C, MIN_VERSION);
        assertEquals("2.12", versionString(MIN_VERSION));
        assertEquals("2.15", versionString(0x020F));
        assertEquals("2.03", versionString(0x0203));
    }
}
