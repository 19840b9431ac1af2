package dev.mesovirt.arch.x86_64.boot;

import static dev.mesovirt.arch.x86_64.boot.BootProtocol.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;

/**
 * Builds the 4096-byte zero page ({@code struct boot_params}) for the 64-bit boot protocol.
 *
 * <p>Following boot.rst ("64-bit Boot Protocol"): the page starts all zero, the kernel's setup header is copied
 * to 0x1F1 (only the header, so the sentinel at 0x1EF stays 0), and then the loader writes
 * {@code type_of_loader = 0xFF}, {@code loadflags |= CAN_USE_HEAP} (the kernel's {@code LOADED_HIGH} kept),
 * {@code heap_end_ptr}, {@code vid_mode = 0xFFFF} (normal), {@code code32_start} (the load address),
 * {@code cmd_line_ptr}, {@code ramdisk_image}/{@code ramdisk_size} (with their {@code ext_*} high halves),
 * {@code setup_data = 0}, {@code acpi_rsdp_addr} and the E820 map.
 *
 * <pre>{@code
 * byte[] zeroPage = BootParams.builder(kernel)
 *         .placement(placement)                       // code32_start, ramdisk_image, ramdisk_size
 *         .commandLine(LowMemoryMap.CMDLINE_ADDR)
 *         .acpiRsdp(LowMemoryMap.ACPI_TABLES_ADDR)
 *         .e820(LowMemoryMap.e820(lowRamEnd, highRamSize))
 *         .build();
 * }</pre>
 */
public final class BootParams {

    /**
     * Default {@code heap_end_ptr}: 0xDE00, i.e. the setup heap ends at 0xE000 from the real-mode base, the
     * value boot.rst's sample loader uses. Only real-mode setup code reads it, which the 64-bit entry skips; it
     * is written (with {@code CAN_USE_HEAP}) because boot.rst marks it obligatory.
     */
    public static final int DEFAULT_HEAP_END_PTR = 0xE000 - 0x200;

    private BootParams() {
    }

    /** A builder for the zero page of {@code kernel}. */
    public static Builder builder(BzImage kernel) {
        return new Builder(kernel);
    }

    /** Collects the loader-written fields; {@link #build()} can be called more than once. */
    public static final class Builder {
        private final BzImage kernel;
        private long commandLine = -1;
        private long kernelLoadAddress = -1;
        private long ramdiskAddress;
        private long ramdiskSize;
        private long acpiRsdp;
        private int heapEndPtr = DEFAULT_HEAP_END_PTR;
        private List<E820Entry> e820;

        private Builder(BzImage kernel) {
            this.kernel = Objects.requireNonNull(kernel, "kernel");
        }

        /** {@code cmd_line_ptr} (+ {@code ext_cmd_line_ptr}): address of the NUL-terminated command line. */
        public Builder commandLine(long address) {
            if (address <= 0) {
                throw new IllegalArgumentException("command line address must be positive: " + address);
            }
            this.commandLine = address;
            return this;
        }

        /** {@code code32_start}: where the protected-mode kernel is loaded. */
        public Builder kernelLoadAddress(long address) {
            if (address <= 0 || address > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException(String.format(
                        "kernel load address 0x%X must be in (0, 4 GiB)", address));
            }
            this.kernelLoadAddress = address;
            return this;
        }

        /** {@code ramdisk_image}/{@code ramdisk_size} (+ {@code ext_*}); size 0 means no initrd. */
        public Builder ramdisk(long address, long size) {
            if (address < 0 || size < 0 || (size > 0 && address == 0)) {
                throw new IllegalArgumentException(String.format("invalid initrd 0x%X + 0x%X", address, size));
            }
            this.ramdiskAddress = size == 0 ? 0 : address;
            this.ramdiskSize = size;
            return this;
        }

        /** Kernel load address and initrd from a {@link KernelPlacement}. */
        public Builder placement(KernelPlacement placement) {
            kernelLoadAddress(placement.kernelLoadAddress());
            return ramdisk(placement.initrdAddress(), placement.initrdSize());
        }

        /** {@code acpi_rsdp_addr}; 0 (the default) lets the kernel scan 0xE0000-0xFFFFF for the RSDP. */
        public Builder acpiRsdp(long address) {
            if (address < 0) {
                throw new IllegalArgumentException("negative RSDP address " + address);
            }
            this.acpiRsdp = address;
            return this;
        }

        /** {@code heap_end_ptr}; defaults to {@link #DEFAULT_HEAP_END_PTR}. */
        public Builder heapEndPtr(int value) {
            if (value < 0 || value > 0xFFFF) {
                throw new IllegalArgumentException("heap_end_ptr is a u16: " + value);
            }
            this.heapEndPtr = value;
            return this;
        }

        /** The memory map; validated with {@link E820Entry#validate(List)}. */
        public Builder e820(List<E820Entry> map) {
            this.e820 = E820Entry.validate(map);
            return this;
        }

        /**
         * The 4096-byte zero page.
         *
         * @throws IllegalStateException if the command line, the kernel load address or the e820 map was not
         *                               given, or if something lies above 4 GiB and the kernel does not allow it
         */
        public byte[] build() {
            if (commandLine < 0) {
                throw new IllegalStateException("zero page needs the command line address");
            }
            if (kernelLoadAddress < 0) {
                throw new IllegalStateException("zero page needs the kernel load address");
            }
            if (e820 == null) {
                throw new IllegalStateException("zero page needs the e820 map");
            }
            SetupHeader h = kernel.header();
            if (!h.canBeLoadedAbove4G()) {
                if (commandLine > 0xFFFF_FFFFL) {
                    throw new IllegalStateException(String.format(
                            "command line at 0x%X is above 4 GiB but the kernel lacks XLF_CAN_BE_LOADED_ABOVE_4G",
                            commandLine));
                }
                if (ramdiskSize > 0 && ramdiskAddress + ramdiskSize > 1L << 32) {
                    throw new IllegalStateException(String.format(
                            "initrd at 0x%X + 0x%X reaches above 4 GiB but the kernel lacks"
                                    + " XLF_CAN_BE_LOADED_ABOVE_4G", ramdiskAddress, ramdiskSize));
                }
            }

            byte[] page = new byte[ZERO_PAGE_SIZE];
            byte[] header = kernel.setupHeader();
            System.arraycopy(header, 0, page, HDR_START, header.length);
            ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);

            b.put(HDR_TYPE_OF_LOADER, (byte) LOADER_TYPE_UNDEFINED);
            b.put(HDR_LOADFLAGS, (byte) ((b.get(HDR_LOADFLAGS) & 0xFF) | CAN_USE_HEAP | LOADED_HIGH));
            b.putShort(HDR_HEAP_END_PTR, (short) heapEndPtr);
            b.putShort(HDR_VID_MODE, (short) VID_MODE_NORMAL);
            b.putInt(HDR_CODE32_START, (int) kernelLoadAddress);
            b.putInt(HDR_CMD_LINE_PTR, (int) commandLine);
            b.putInt(ZP_EXT_CMD_LINE_PTR, (int) (commandLine >>> 32));
            b.putInt(HDR_RAMDISK_IMAGE, (int) ramdiskAddress);
            b.putInt(ZP_EXT_RAMDISK_IMAGE, (int) (ramdiskAddress >>> 32));
            b.putInt(HDR_RAMDISK_SIZE, (int) ramdiskSize);
            b.putInt(ZP_EXT_RAMDISK_SIZE, (int) (ramdiskSize >>> 32));
            b.putLong(HDR_SETUP_DATA, 0);
            // acpi_rsdp_addr lives in boot_params proper, not in the setup header, so no protocol version gates
            // it (2.14 is "burnt" and means 2.13): Linux 5.0+ reads it, older kernels ignore the former padding.
            b.putLong(ZP_ACPI_RSDP_ADDR, acpiRsdp);

            b.put(ZP_E820_ENTRIES, (byte) e820.size());
            b.position(ZP_E820_TABLE);
            for (E820Entry e : e820) {
                e.writeTo(b);
            }
            return page;
        }
    }
}
