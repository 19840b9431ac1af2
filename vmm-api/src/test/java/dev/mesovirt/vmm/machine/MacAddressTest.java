package dev.mesovirt.vmm.machine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MacAddressTest {
    private static VirtioConfig.Net nic(String id, MacAddress mac) {
        return new VirtioConfig.Net(id, Optional.of("tap-" + id), -1, mac);
    }

    @Test
    void parsesSixHexBytesWithColonsOrDashesInEitherCase() {
        MacAddress a = MacAddress.parse("02:4d:56:00:00:35");
        assertEquals(0x02_4d_56_00_00_35L, a.value());
        assertArrayEquals(new byte[] {0x02, 0x4d, 0x56, 0x00, 0x00, 0x35}, a.bytes());
        assertEquals("02:4d:56:00:00:35", a.toString());
        assertEquals(a, MacAddress.parse("02-4D-56-00-00-35"), "QEMU's mac property takes '-' too");
        assertEquals("fe:ff:ff:ff:ff:ff", MacAddress.parse("FE:FF:FF:FF:FF:FF").toString());
        assertEquals(new MacAddress(0), MacAddress.parse("00:00:00:00:00:00"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00:12:34:5", "52:54:00:12:34:567",
            "52:54:00:12:34:5g", "52:54:00:12:34:", "52:54:00:12:34:56:", "52 54 00 12 34 56", "525400123456",
            "+2:54:00:12:34:56", "52::54:00:12:34"})
    void refusesWhatIsNotSixTwoDigitHexBytes(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(text));
        assertEquals("'" + text + "' is not six hexadecimal bytes such as 52:54:00:12:34:56", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"01:00:5e:00:00:01", "33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff", "03:00:00:00:00:00"})
    void refusesMulticastAndBroadcast(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(text));
        assertEquals(text + " is a multicast address (odd first byte): a NIC's address is unicast", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MacAddress(Long.parseLong(text.replace(":", ""), 16)));
    }

    @Test
    void refusesMoreThan48Bits() {
        assertThrows(IllegalArgumentException.class, () -> new MacAddress(1L << 48));
        assertThrows(IllegalArgumentException.class, () -> new MacAddress(-2));
    }

    @Test
    void theDefaultIsQemusNthAddressSkippingTakenOnes() {
        List<VirtioConfig> devices = new ArrayList<>();
        assertEquals(MacAddress.parse("52:54:00:12:34:56"), MacAddress.nextDefault(devices));
        devices.add(new VirtioConfig.Rng("rng0", java.nio.file.Path.of("/dev/urandom")));
        assertEquals(MacAddress.parse("52:54:00:12:34:56"), MacAddress.nextDefault(devices), "only NICs count");
        devices.add(nic("n0", MacAddress.nextDefault(devices)));
        assertEquals(MacAddress.parse("52:54:00:12:34:57"), MacAddress.nextDefault(devices));
        devices.add(nic("n1", MacAddress.parse("52:54:00:12:34:58")));
        devices.add(nic("n2", MacAddress.parse("02:00:00:00:00:57")));
        assertEquals(MacAddress.parse("52:54:00:12:34:57"), MacAddress.nextDefault(devices));
        devices.add(nic("n3", MacAddress.nextDefault(devices)));
        assertEquals(MacAddress.parse("52:54:00:12:34:59"), MacAddress.nextDefault(devices), "58 given explicitly");
        devices.remove(1); // the first NIC unplugged: its address is free again, as QEMU frees it
        assertEquals(MacAddress.parse("52:54:00:12:34:56"), MacAddress.nextDefault(devices));
    }

    @Test
    void theDefaultsRunOutAfter0xfe() {
        List<VirtioConfig> devices = new ArrayList<>();
        for (int last = 0x56; last <= 0xfe; last++) {
            devices.add(nic("n" + last, MacAddress.nextDefault(devices)));
        }
        assertEquals(MacAddress.parse("52:54:00:12:34:fe"), ((VirtioConfig.Net) devices.get(devices.size() - 1)).mac());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MacAddress.nextDefault(devices));
        assertEquals("every default MAC address (52:54:00:12:34:56 to 52:54:00:12:34:fe) is taken: give this NIC"
                + " mac=", e.getMessage());
    }
}
