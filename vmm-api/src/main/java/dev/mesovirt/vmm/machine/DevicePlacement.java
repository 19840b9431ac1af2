package dev.mesovirt.vmm.machine;

import java.util.Objects;

/**
 * Where a device goes in its machine when it is not simply the next free place: each machine takes the kind it has
 * and refuses the others.
 */
public sealed interface DevicePlacement {
    /**
     * One of the microVM's replaceable virtio-mmio slots (StratoVirt's hot-plug model): number {@code addr} among the
     * slots reserved for devices of its kind, as QMP device_add's {@code addr} names it. The machine, which knows how
     * many it has, checks the number.
     */
    record HotplugSlot(int addr) implements DevicePlacement {
    }

    /**
     * A slot on a standard machine's PCI hierarchy: device {@code slot}, function {@code function} of the bus with id
     * {@code bus} (a root port's, or the root bus's), as {@code -device ...,bus=ID,addr=SLOT[.FUNCTION]} and QMP
     * device_add give it.
     */
    record Pci(String bus, int slot, int function) implements DevicePlacement {
        public Pci {
            Objects.requireNonNull(bus, "bus");
            if (slot < 0 || slot > 31 || function < 0 || function > 7) {
                throw new IllegalArgumentException("PCI address " + slot + "." + function + " out of range 0..31.0..7");
            }
        }

        /**
         * QEMU's and StratoVirt's {@code addr=}: {@code SLOT[.FUNCTION]}, each hexadecimal with {@code 0x} or
         * decimal ({@code 0x3}, {@code 0x3.0x1}, {@code 3}); IllegalArgumentException saying what is wrong.
         */
        public static Pci parse(String bus, String addr) {
            String[] parts = addr.trim().split("\\.", -1);
            if (parts.length > 2) {
                throw new IllegalArgumentException("addr=" + addr + ": expected SLOT[.FUNCTION], e.g. 0x3 or 0x3.0x1");
            }
            int slot = number(addr, parts[0]);
            int function = parts.length == 2 ? number(addr, parts[1]) : 0;
            if (slot > 31) {
                throw new IllegalArgumentException("addr=" + addr + ": slot " + slot + " (0x" + Integer.toHexString(slot)
                        + ") out of range: a PCI bus has slots 0x0..0x1f");
            }
            if (function > 7) {
                throw new IllegalArgumentException("addr=" + addr + ": function " + function + " out of range 0..7");
            }
            return new Pci(bus, slot, function);
        }

        private static int number(String addr, String text) {
            String t = text.trim().toLowerCase(java.util.Locale.ROOT);
            try {
                int v = t.startsWith("0x") ? Integer.parseInt(t.substring(2), 16) : Integer.parseInt(t);
                if (v < 0) {
                    throw new NumberFormatException();
                }
                return v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("addr=" + addr + ": '" + text + "' is not a number");
            }
        }

        @Override
        public String toString() {
            return bus + " " + String.format("%02x.%x", slot, function);
        }
    }
}
