package dev.mesovirt.arch.x86_64.boot;

import dev.mesovirt.vmm.firmware.FwCfg;

/**
 * A bzImage handed to x86 firmware through fw_cfg, as QEMU's x86 machines do for {@code -kernel} with firmware: the
 * real-mode part (boot sector and setup sectors) as SETUP_SIZE/SETUP_DATA, the protected-mode kernel after it as
 * KERNEL_SIZE/KERNEL_DATA, the initrd as INITRD_SIZE/INITRD_DATA and the NUL-terminated command line as
 * CMDLINE_SIZE/CMDLINE_DATA, each size a 32-bit little-endian number. OVMF's QemuKernelLoaderFsDxe joins setup and
 * kernel back into its "kernel" file (the whole bzImage, whose EFI stub X86QemuLoadImageLib starts with LoadImage)
 * and serves "initrd" beside it; the command line becomes the image's load options. The setup part is handed over
 * unchanged, so that the joined file is the user's image byte for byte (its PE signature stays valid).
 */
public final class FwCfgKernel {
    private FwCfgKernel() {}

    /**
     * Adds {@code kernel}'s items to {@code fw}, with {@code initrd} (empty for none: size 0, as QEMU) and {@code
     * commandLine} (checked against the kernel's limit: IllegalArgumentException).
     */
    public static void add(FwCfg.Builder fw, BzImage kernel, byte[] initrd, String commandLine) {
        byte[] setup = kernel.setup();
        byte[] code = new byte[kernel.protectedModeLength()];
        kernel.protectedModeCode().get(code);
        byte[] cmdline = KernelCommandLine.forKernel(kernel.header()).append(commandLine).toBytes();
        fw.number(FwCfg.SETUP_SIZE, setup.length, 4).item(FwCfg.SETUP_DATA, setup)
                .number(FwCfg.KERNEL_SIZE, code.length, 4).item(FwCfg.KERNEL_DATA, code)
                .number(FwCfg.INITRD_SIZE, initrd.length, 4).item(FwCfg.INITRD_DATA, initrd)
                .number(FwCfg.CMDLINE_SIZE, cmdline.length, 4).item(FwCfg.CMDLINE_DATA, cmdline);
    }
}
