package dev.mesovirt.vmm.arch;

/** How platform devices tell the machine that the guest asked to power off, reset, or has panicked. */
public interface GuestPower {
    void powerOff();

    void reset();

    void panic(String detail);
}
