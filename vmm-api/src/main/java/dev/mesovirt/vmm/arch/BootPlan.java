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
 * @param firmware the vCPUs start at their reset state, in firmware from flash, not in a kernel; {@code entry} is
 *     then the address of the first instruction (x86: 4 GiB - 16), for the log
 */
public record BootPlan(long entry, long firmwareAddress, long kernelStart, long kernelEnd, long initrdStart,
        long initrdSize, String commandLine, boolean firmware) {
    /** A kernel's plan. */
    public BootPlan(long entry, long firmwareAddress, long kernelStart, long kernelEnd, long initrdStart,
            long initrdSize, String commandLine) {
        this(entry, firmwareAddress, kernelStart, kernelEnd, initrdStart, initrdSize, commandLine, false);
    }

    /** Firmware from flash, which the CPU reaches from its reset state at {@code resetAddress}. */
    public static BootPlan firmwareReset(long resetAddress) {
        return new BootPlan(resetAddress, 0, 0, 0, 0, 0, "", true);
    }
}
