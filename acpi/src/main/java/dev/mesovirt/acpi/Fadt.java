package dev.mesovirt.acpi;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * A hardware-reduced Fixed ACPI Description Table, revision 6 (276 bytes): no PM1 blocks, SCI, GPEs or FACS, as in
 * QEMU's microvm and arm64 virt and in Firecracker. What differs between the architectures is data: the IA-PC and
 * ARM boot flags, and the byte-wide reset and sleep registers that x86 machines have and arm64 ones (PSCI) do not.
 *
 * @param minorRevision the ACPI 6.x minor version claimed (arm64 Linux wants 5.1 or later; the MADT's GICC length
 *     follows it: 80 bytes up to 6.4, 82 from 6.5)
 * @param flags the FADT flags; {@link #HW_REDUCED_ACPI} is always added
 * @param iapcBootArch IAPC_BOOT_ARCH (x86)
 * @param armBootArch ARM_BOOT_ARCH (arm64: PSCI compliant, PSCI through HVC)
 * @param resetRegister the byte-wide reset register's address (in system memory), if any; adds RESET_REG_SUP
 * @param resetValue what is written to it to reset
 * @param sleepControl the hardware-reduced sleep control register (byte-wide, system memory), if any
 * @param sleepStatus the sleep status register, if any
 */
public record Fadt(int minorRevision, int flags, int iapcBootArch, int armBootArch, OptionalLong resetRegister,
        int resetValue, OptionalLong sleepControl, OptionalLong sleepStatus) {
    public static final int REVISION = 6;
    public static final int LENGTH = 276;
    public static final int RESET_REG_SUP = 1 << 10;
    public static final int HW_REDUCED_ACPI = 1 << 20;
    /** ARM_BOOT_ARCH: the platform implements PSCI. */
    public static final int ARM_PSCI_COMPLIANT = 1 << 0;
    /** ARM_BOOT_ARCH: PSCI calls use HVC (a hypervisor implements them, as KVM does) rather than SMC. */
    public static final int ARM_PSCI_USE_HVC = 1 << 1;

    public Fadt {
        Objects.requireNonNull(resetRegister, "resetRegister");
        Objects.requireNonNull(sleepControl, "sleepControl");
        Objects.requireNonNull(sleepStatus, "sleepStatus");
        if (minorRevision < 0 || minorRevision > 15) {
            throw new IllegalArgumentException("FADT minor revision is 4 bits, not " + minorRevision);
        }
    }

    /** The table, its DSDT and X_DSDT fields both {@code dsdtAddress} (which must lie below 4 GiB). */
    public byte[] table(long dsdtAddress) {
        if (dsdtAddress < 0 || dsdtAddress >= 0x1_0000_0000L) {
            throw new IllegalArgumentException("the DSDT must lie below 4 GiB, not at 0x" + Long.toHexString(dsdtAddress));
        }
        ByteWriter w = Sdt.begin("FACP", REVISION)
                .u32(0) // FIRMWARE_CTRL: no FACS, optional when HW_REDUCED_ACPI is set
                .u32(dsdtAddress) // DSDT; same value as X_DSDT so ACPICA sees no mismatch
                .u8(0) // reserved (INT_MODEL in ACPI 1.0)
                .u8(0) // Preferred_PM_Profile: unspecified
                .u16(0) // SCI_INT: hardware-reduced platforms have no SCI
                .u32(0) // SMI_CMD: no SMM, so ACPI_ENABLE/ACPI_DISABLE/S4BIOS_REQ/PSTATE_CNT are 0
                .u8(0).u8(0).u8(0).u8(0)
                .zeros(8 * 4) // PM1a/b_EVT, PM1a/b_CNT, PM2_CNT, PM_TMR, GPE0, GPE1 blocks: absent
                .zeros(8) // their lengths, GPE1_BASE, CST_CNT
                .u16(0).u16(0) // P_LVL2_LAT, P_LVL3_LAT: C-states via _CST/MWAIT only
                .u16(0).u16(0) // FLUSH_SIZE, FLUSH_STRIDE
                .u8(0).u8(0) // DUTY_OFFSET, DUTY_WIDTH
                .u8(0).u8(0).u8(0) // DAY_ALRM, MON_ALRM, CENTURY: RTC alarm/century not described
                .u16(iapcBootArch)
                .u8(0) // reserved
                .u32(flags | HW_REDUCED_ACPI | (resetRegister.isPresent() ? RESET_REG_SUP : 0));
        gas(w, resetRegister); // RESET_REG
        w.u8(resetRegister.isPresent() ? resetValue : 0)
                .u16(armBootArch)
                .u8(minorRevision)
                .u64(0) // X_FIRMWARE_CTRL
                .u64(dsdtAddress) // X_DSDT
                .zeros(8 * 12); // X_PM1a_EVT_BLK .. X_GPE1_BLK: absent in hardware-reduced mode
        gas(w, sleepControl); // SLEEP_CONTROL_REG
        gas(w, sleepStatus); // SLEEP_STATUS_REG
        w.ascii("MESOVIRT", 8); // Hypervisor Vendor Identity
        if (w.position() != LENGTH) {
            throw new IllegalStateException("FADT is " + w.position() + " bytes, expected " + LENGTH);
        }
        return Sdt.finish(w);
    }

    private static void gas(ByteWriter w, OptionalLong address) {
        if (address.isPresent()) {
            Sdt.gasByte(w, address.getAsLong());
        } else {
            w.zeros(12);
        }
    }
}
