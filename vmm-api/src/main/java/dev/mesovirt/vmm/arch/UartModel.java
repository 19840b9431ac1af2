package dev.mesovirt.vmm.arch;

/** Which UART a machine's console is: the register interface the guest and its firmware drive. */
public enum UartModel {
    /** A 16550A: PCs' COM ports, and the microVMs' (and direct-kernel arm64/riscv64 machines') MMIO console. */
    NS16550,
    /** Arm's PrimeCell PL011, QEMU's virt board's console and the only UART arm64 EDK2 (ArmVirtQemu) drives. */
    PL011
}
