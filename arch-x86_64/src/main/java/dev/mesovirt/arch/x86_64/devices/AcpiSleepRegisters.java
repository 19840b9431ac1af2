package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.arch.GuestPower;
import dev.mesovirt.vmm.bus.BusDevice;
import java.util.Arrays;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hardware-reduced ACPI sleep control, sleep status and reset registers (FADT SLEEP_CONTROL_REG,
 * SLEEP_STATUS_REG, RESET_REG), one byte each at offsets 0, 1 and 2 of an MMIO range {@link #LENGTH} bytes long.
 *
 * <p>Encodings (ACPI 6.x §4.8.3.7 Sleep Control Register, §4.8.3.8 Sleep Status Register, §4.8.3.6 Reset Register):
 * <ul>
 *   <li>sleep control: bits 2..4 SLP_TYPx, bit 5 SLP_EN, the rest reserved. Writing SLP_EN with SLP_TYP = 5 enters
 *       S5 (soft off) and powers the machine off, so the DSDT's {@code \_S5} package must declare 5. Other sleep
 *       states are not supported and ignored.</li>
 *   <li>sleep status: bit 7 WAK_STS (write 1 to clear). The machine never sleeps, so there is never a wake to
 *       report: reads 0, writes ignored.</li>
 *   <li>reset: writing the FADT's RESET_VALUE resets the machine; other values are ignored.</li>
 * </ul>
 * Reads of every register return 0. Wider accesses are taken as consecutive byte accesses.
 */
public final class AcpiSleepRegisters implements BusDevice {
    private static final Logger LOG = LoggerFactory.getLogger(AcpiSleepRegisters.class);

    public static final int LENGTH = 3;
    public static final int SLEEP_CONTROL_OFFSET = 0;
    public static final int SLEEP_STATUS_OFFSET = 1;
    public static final int RESET_OFFSET = 2;
    public static final int DEFAULT_RESET_VALUE = 0x42;

    public static final int SLP_EN = 0x20;
    public static final int SLP_TYP_SHIFT = 2;
    public static final int SLP_TYP_MASK = 0x07;
    /** The SLP_TYP value the DSDT's \_S5 package must declare. */
    public static final int SLP_TYP_S5 = 5;

    private final GuestPower power;
    private final int resetValue;

    public AcpiSleepRegisters(GuestPower power) {
        this(power, DEFAULT_RESET_VALUE);
    }

    /** @param resetValue the FADT RESET_VALUE byte (0..255) */
    public AcpiSleepRegisters(GuestPower power, int resetValue) {
        if (resetValue < 0 || resetValue > 0xFF) {
            throw new IllegalArgumentException("reset value " + resetValue + " is not a byte");
        }
        this.power = Objects.requireNonNull(power, "power");
        this.resetValue = resetValue;
    }

    public int resetValue() {
        return resetValue;
    }

    @Override
    public void read(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
    }

    @Override
    public void write(long offset, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            writeRegister(offset + i, data[i] & 0xFF);
        }
    }

    private void writeRegister(long register, int value) {
        if (register == SLEEP_CONTROL_OFFSET) {
            if ((value & SLP_EN) == 0) {
                return;
            }
            int type = (value >> SLP_TYP_SHIFT) & SLP_TYP_MASK;
            if (type == SLP_TYP_S5) {
                LOG.info("guest entered ACPI S5: powering off");
                power.powerOff();
            } else {
                LOG.debug("ignoring ACPI sleep request with SLP_TYP {}", type);
            }
        } else if (register == RESET_OFFSET && value == resetValue) {
            LOG.info("guest wrote the ACPI reset register: resetting");
            power.reset();
        }
    }
}
