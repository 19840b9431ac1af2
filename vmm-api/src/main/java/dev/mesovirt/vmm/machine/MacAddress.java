package dev.mesovirt.vmm.machine;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * A NIC's Ethernet address, as {@code -device ...,mac=} and QMP device_add's {@code mac} give it, or as the machine
 * makes one up. It is unicast: a NIC with a multicast (or the broadcast) address is invalid, and both the command
 * line and QMP refuse one, as QEMU's {@code -net nic} does ("NIC cannot have multicast MAC address").
 *
 * @param value the 48 bits, the first byte most significant
 */
public record MacAddress(long value) {
    /** QEMU's addresses for NICs given none: 52:54:00:12:34:XX, XX from 0x56 up. */
    private static final long DEFAULT_PREFIX = 0x52_54_00_12_34_00L;
    private static final int FIRST_DEFAULT = 0x56;
    private static final int LAST_DEFAULT = 0xfe;
    private static final String FORM = "six hexadecimal bytes such as 52:54:00:12:34:56";

    public MacAddress {
        if (value < 0 || value >>> 48 != 0) {
            throw new IllegalArgumentException("a MAC address has 48 bits, not 0x" + Long.toHexString(value));
        }
        if ((value >>> 40 & 1) != 0) {
            throw new IllegalArgumentException(format(value) + " is a multicast address (odd first byte): a NIC's"
                    + " address is unicast");
        }
    }

    /**
     * Six bytes of two hexadecimal digits, separated by ':' (or '-', which QEMU's {@code mac} property also takes).
     * IllegalArgumentException saying what is wrong: the form, or a multicast address.
     */
    public static MacAddress parse(String text) {
        String[] parts = text.split("[:-]", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("'" + text + "' is not " + FORM);
        }
        long value = 0;
        for (String p : parts) {
            if (p.length() != 2 || Character.digit(p.charAt(0), 16) < 0 || Character.digit(p.charAt(1), 16) < 0) {
                throw new IllegalArgumentException("'" + text + "' is not " + FORM);
            }
            value = value << 8 | Integer.parseInt(p, 16);
        }
        return new MacAddress(value);
    }

    /**
     * QEMU's address for a NIC given none (qemu_macaddr_default_if_unset) joining {@code devices}: 52:54:00:12:34:56
     * for the first NIC, then 57, 58, ...: the first of them that no NIC among {@code devices} has.
     * IllegalArgumentException once all 169 are taken.
     */
    public static MacAddress nextDefault(Collection<? extends VirtioConfig> devices) {
        Set<MacAddress> taken = new HashSet<>();
        for (VirtioConfig d : devices) {
            if (d instanceof VirtioConfig.Net n) {
                taken.add(n.mac());
            }
        }
        for (int last = FIRST_DEFAULT; last <= LAST_DEFAULT; last++) {
            MacAddress candidate = new MacAddress(DEFAULT_PREFIX | last);
            if (!taken.contains(candidate)) {
                return candidate;
            }
        }
        throw new IllegalArgumentException("every default MAC address (52:54:00:12:34:56 to 52:54:00:12:34:fe) is"
                + " taken: give this NIC mac=");
    }

    /** The six bytes, the first on the wire first (as virtio-net's configuration space holds them). */
    public byte[] bytes() {
        byte[] out = new byte[6];
        for (int i = 0; i < 6; i++) {
            out[i] = (byte) (value >>> (8 * (5 - i)));
        }
        return out;
    }

    /** aa:bb:cc:dd:ee:ff, lower case, as QEMU prints it. */
    @Override
    public String toString() {
        return format(value);
    }

    private static String format(long value) {
        StringBuilder s = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            s.append(String.format("%02x", (value >>> (8 * i)) & 0xff));
            if (i > 0) {
                s.append(':');
            }
        }
        return s.toString();
    }
}
