package dev.mesovirt.arch.x86_64.boot;

/**
 * Byte offsets, magic numbers and flag bits of the Linux x86 boot protocol.
 *
 * <p>Sources: {@code Documentation/arch/x86/boot.rst} and {@code arch/x86/include/uapi/asm/bootparam.h}
 * ({@code struct setup_header}, {@code struct boot_params}). All multi-byte fields are little-endian.
 *
 * <p>The setup header sits at offset {@code 0x1F1} both in the bzImage file and in the zero page
 * ({@code struct boot_params}, field {@code hdr}), so every {@code HDR_*} offset below is valid in both:
 * it is an absolute offset, not one relative to the start of the header.
 */
public final class BootProtocol {

    // ---------------------------------------------------------------- struct setup_header (absolute offsets)

    /** {@code struct boot_params.hdr}: the setup header starts here in the file and in the zero page. */
    public static final int HDR_START = 0x1F1;
    /** u8, size of the real-mode setup in 512-byte sectors; 0 means 4. */
    public static final int HDR_SETUP_SECTS = 0x1F1;
    /** u16, obsolete. */
    public static final int HDR_ROOT_FLAGS = 0x1F2;
    /** u32 (2.04+), size of the protected-mode code in 16-byte paragraphs. */
    public static final int HDR_SYSSIZE = 0x1F4;
    /** u16, obsolete. */
    public static final int HDR_RAM_SIZE = 0x1F8;
    /** u16, video mode control (write, obligatory). */
    public static final int HDR_VID_MODE = 0x1FA;
    /** u16, obsolete. */
    public static final int HDR_ROOT_DEV = 0x1FC;
    /** u16, {@link #BOOT_FLAG_MAGIC}. */
    public static final int HDR_BOOT_FLAG = 0x1FE;
    /** u16, a short jump (0xEB, offset); the offset byte at 0x201 doubles as the header length. */
    public static final int HDR_JUMP = 0x200;
    /** u32, {@link #HDRS_MAGIC}. */
    public static final int HDR_HEADER = 0x202;
    /** u16, boot protocol version, {@code (major << 8) | minor}. */
    public static final int HDR_VERSION = 0x206;
    /** u32, real-mode boot loader hook. */
    public static final int HDR_REALMODE_SWTCH = 0x208;
    /** u16, obsolete load-low segment. */
    public static final int HDR_START_SYS_SEG = 0x20C;
    /** u16, pointer (less 0x200) to the NUL-terminated kernel version string. */
    public static final int HDR_KERNEL_VERSION = 0x20E;
    /** u8, boot loader identifier (write, obligatory). */
    public static final int HDR_TYPE_OF_LOADER = 0x210;
    /** u8, {@code LOADED_HIGH}, {@code CAN_USE_HEAP}, ... */
    public static final int HDR_LOADFLAGS = 0x211;
    /** u16, obsolete (2.00-2.01 only). */
    public static final int HDR_SETUP_MOVE_SIZE = 0x212;
    /** u32, 32-bit entry / load address of the protected-mode kernel. */
    public static final int HDR_CODE32_START = 0x214;
    /** u32, low 32 bits of the initrd address. */
    public static final int HDR_RAMDISK_IMAGE = 0x218;
    /** u32, low 32 bits of the initrd size. */
    public static final int HDR_RAMDISK_SIZE = 0x21C;
    /** u32, obsolete. */
    public static final int HDR_BOOTSECT_KLUDGE = 0x220;
    /** u16 (2.01+), end of the real-mode setup heap, relative to the real-mode code, minus 0x200. */
    public static final int HDR_HEAP_END_PTR = 0x224;
    /** u8 (2.02+). */
    public static final int HDR_EXT_LOADER_VER = 0x226;
    /** u8 (2.02+). */
    public static final int HDR_EXT_LOADER_TYPE = 0x227;
    /** u32 (2.02+), low 32 bits of the command line address. */
    public static final int HDR_CMD_LINE_PTR = 0x228;
    /** u32 (2.03+), highest address the initrd may occupy (address of its last byte). */
    public static final int HDR_INITRD_ADDR_MAX = 0x22C;
    /** u32 (2.05+), physical alignment the relocatable kernel wants. */
    public static final int HDR_KERNEL_ALIGNMENT = 0x230;
    /** u8 (2.05+), nonzero if the protected-mode kernel is relocatable. */
    public static final int HDR_RELOCATABLE_KERNEL = 0x234;
    /** u8 (2.10+), minimum alignment as a power of two. */
    public static final int HDR_MIN_ALIGNMENT = 0x235;
    /** u16 (2.12+), {@code XLF_*} bits. */
    public static final int HDR_XLOADFLAGS = 0x236;
    /** u32 (2.06+), maximum command line length without the terminating NUL. */
    public static final int HDR_CMDLINE_SIZE = 0x238;
    /** u32 (2.07+), 0 = PC. */
    public static final int HDR_HARDWARE_SUBARCH = 0x23C;
    /** u64 (2.07+). */
    public static final int HDR_HARDWARE_SUBARCH_DATA = 0x240;
    /** u32 (2.08+), offset of the compressed payload from the start of the protected-mode code. */
    public static final int HDR_PAYLOAD_OFFSET = 0x248;
    /** u32 (2.08+), length of the compressed payload. */
    public static final int HDR_PAYLOAD_LENGTH = 0x24C;
    /** u64 (2.09+), physical address of the first {@code struct setup_data}, 0 for none. */
    public static final int HDR_SETUP_DATA = 0x250;
    /** u64 (2.10+), preferred load address ({@code LOAD_PHYSICAL_ADDR}). */
    public static final int HDR_PREF_ADDRESS = 0x258;
    /** u32 (2.10+), contiguous memory the kernel needs from its runtime start before it reads the memory map. */
    public static final int HDR_INIT_SIZE = 0x260;
    /** u32 (2.11+), EFI handover entry offset. */
    public static final int HDR_HANDOVER_OFFSET = 0x264;
    /** u32 (2.15+), offset of {@code kernel_info}. */
    public static final int HDR_KERNEL_INFO_OFFSET = 0x268;
    /** End (exclusive) of the 2.15 setup header: {@code sizeof(struct setup_header) == 0x7B}. */
    public static final int HDR_END_2_15 = 0x26C;
    /**
     * End (exclusive) of the room {@code struct boot_params} leaves for the setup header (its {@code _pad7}
     * runs to {@code edd_mbr_sig_buffer} at 0x290); the header can never extend past this.
     */
    public static final int HDR_ROOM_END = 0x290;

    // ---------------------------------------------------------------- struct boot_params (zero page)

    /** Size of the zero page, {@code sizeof(struct boot_params)}. */
    public static final int ZERO_PAGE_SIZE = 0x1000;
    /** u64, physical address of the ACPI RSDP (boot_params field, read by Linux 5.0+). */
    public static final int ZP_ACPI_RSDP_ADDR = 0x070;
    /** u32, high 32 bits of the initrd address (2.12+). */
    public static final int ZP_EXT_RAMDISK_IMAGE = 0x0C0;
    /** u32, high 32 bits of the initrd size (2.12+). */
    public static final int ZP_EXT_RAMDISK_SIZE = 0x0C4;
    /** u32, high 32 bits of the command line address (2.12+). */
    public static final int ZP_EXT_CMD_LINE_PTR = 0x0C8;
    /** u32, obsolete extended memory size in KiB. */
    public static final int ZP_ALT_MEM_K = 0x1E0;
    /** u8, number of valid entries in {@link #ZP_E820_TABLE}. */
    public static final int ZP_E820_ENTRIES = 0x1E8;
    /**
     * u8, the sentinel: header.S sets it to 0xFF in the image; a loader that copies only the setup header
     * leaves it 0 in the zero page, which tells the kernel the rest of boot_params is trustworthy.
     */
    public static final int ZP_SENTINEL = 0x1EF;
    /** {@code struct boot_e820_entry e820_table[128]}. */
    public static final int ZP_E820_TABLE = 0x2D0;
    /** {@code sizeof(struct boot_e820_entry)}: u64 addr, u64 size, u32 type, packed. */
    public static final int E820_ENTRY_SIZE = 20;
    /** {@code E820_MAX_ENTRIES_ZEROPAGE}. */
    public static final int E820_MAX_ENTRIES = 128;

    // ---------------------------------------------------------------- magic numbers and flags

    /** Value of {@link #HDR_BOOT_FLAG}. */
    public static final int BOOT_FLAG_MAGIC = 0xAA55;
    /** Value of {@link #HDR_HEADER}: "HdrS" read as a little-endian u32. */
    public static final int HDRS_MAGIC = 0x53726448;

    /** loadflags bit 0: the protected-mode code is loaded at 0x100000 (bzImage). */
    public static final int LOADED_HIGH = 1;
    /** loadflags bit 1: kernel-internal KASLR status. */
    public static final int KASLR_FLAG = 1 << 1;
    /** loadflags bit 5: suppress early messages. */
    public static final int QUIET_FLAG = 1 << 5;
    /** loadflags bit 6: obsolete. */
    public static final int KEEP_SEGMENTS = 1 << 6;
    /** loadflags bit 7: {@link #HDR_HEAP_END_PTR} is valid. */
    public static final int CAN_USE_HEAP = 1 << 7;

    /** xloadflags bit 0: the kernel has the 64-bit entry point at load address + 0x200. */
    public static final int XLF_KERNEL_64 = 1;
    /** xloadflags bit 1: kernel, boot_params, command line and initrd may live above 4 GiB. */
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1;
    /** xloadflags bit 2. */
    public static final int XLF_EFI_HANDOVER_32 = 1 << 2;
    /** xloadflags bit 3. */
    public static final int XLF_EFI_HANDOVER_64 = 1 << 3;
    /** xloadflags bit 4. */
    public static final int XLF_EFI_KEXEC = 1 << 4;
    /** xloadflags bit 5. */
    public static final int XLF_5LEVEL = 1 << 5;
    /** xloadflags bit 6. */
    public static final int XLF_5LEVEL_ENABLED = 1 << 6;

    /** {@code type_of_loader} for a boot loader without an assigned id. */
    public static final int LOADER_TYPE_UNDEFINED = 0xFF;
    /** {@code vid_mode} "normal" (same as {@code vga=normal}). */
    public static final int VID_MODE_NORMAL = 0xFFFF;

    /**
     * Oldest protocol accepted: 2.12. The 64-bit boot protocol (enter at load address + 0x200 already in long
     * mode) is only promised by a kernel that sets {@link #XLF_KERNEL_64}, and {@code xloadflags} exists only
     * from 2.12 on; for an older header the bytes at 0x236 are padding, so a set bit 0 there would mean nothing.
     * 2.12 also brings the {@code ext_*} high halves of the initrd and command line pointers.
     */
    public static final int MIN_VERSION = 0x020C;

    /** Offset of the 64-bit entry point from the protected-mode kernel's load address. */
    public static final int ENTRY_64_OFFSET = 0x200;
    /** Sector size of the setup code. */
    public static final int SECTOR_SIZE = 512;

    private BootProtocol() {
    }

    /** Formats a protocol version as "2.15". */
    public static String versionString(int version) {
        return (version >>> 8) + "." + String.format("%02d", version & 0xFF);
    }
}
