package dev.mesovirt.vmm.arch;

import dev.mesovirt.vmm.bus.BusDevice;

/** An architecture-specific device and where it goes. */
public record PlatformDevice(String name, BusKind bus, long base, long length, BusDevice device) {}
