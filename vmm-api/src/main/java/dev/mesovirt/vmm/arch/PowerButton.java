package dev.mesovirt.vmm.arch;

import dev.mesovirt.vmm.bus.BusDevice;

/**
 * A platform device through which the host asks the guest to shut down, as a user pressing the power button would
 * (QMP {@code system_powerdown}). x86_64: an ACPI Generic Event Device whose event notifies the PNP0C0C power button;
 * arm64: a PL061 GPIO line wired to a {@code gpio-keys} KEY_POWER. The guest decides what to do (Linux reports
 * KEY_POWER on an input device; systemd-logind or acpid then shuts down).
 *
 * <p>An {@link Architecture} offers one by returning, from {@link Architecture#platformDevices}, a
 * {@link PlatformDevice} whose device implements this interface; the machine then passes a
 * {@link DeviceDescription.PowerButton} with the device's window and {@link #irq()} back to
 * {@link Architecture#loadGuest} for the firmware tables.
 */
public interface PowerButton extends BusDevice {
    /** The interrupt the device raises when pressed. */
    Irq irq();

    /** Presses and releases the button: raises the device's event and interrupt. Thread-safe. */
    void press();

    /** Returns the device to its power-on state (machine reset). */
    void reset();
}
