package dev.mesovirt.vmm.arch;

/**
 * Where the guest was loaded and how vCPU 0 enters it.
 *
 * @param entry the guest-physical entry point
 * @param firmwareAddress boot_params (x86) or device tree (arm64, riscv64) address handed to the kernel
 * @param kernelStart first byte of the loaded kernel
 * @param kernelEnd end of the memory the kernel may use while starting (its init size)
 * @param initrdStart initrd address, 0 without one
 * @param initrdSize initrd length in bytes
 * @param commandLine the command line the guest gets (the user's plus what the architecture appended)
 */
public record BootPlan(long entry, long firmwareAddress, long kernelStart, long kernelEnd, long initrdStart,
        long initrdSize, String commandLine) {}
