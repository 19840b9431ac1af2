package dev.mesovirt.arch.x86_64.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class I8042Test {
    private final RecordingPower power = new RecordingPower();
    private final List<Boolean> irq = new CopyOnWriteArrayList<>();
    private final I8042 kbc = new I8042(power, irq::add);

    private int status() {
        byte[] b = new byte[1];
        kbc.read(4, b);
        return b[0] & 0xFF;
    }

    private int data() {
        byte[] b = new byte[1];
        kbc.read(0, b);
        return b[0] & 0xFF;
    }

    private void command(int c) {
        kbc.write(4, new byte[] {(byte) c});
    }

    private void writeData(int d) {
        kbc.write(0, new byte[] {(byte) d});
    }

    @Test
    void statusShowsNoDataUntilAResponseIsPending() {
        assertEquals(0, status() & 0x01);
        assertEquals(0x10, status() & 0x10, "not key-locked");
        command(0xAA);
        assertEquals(0x01, status() & 0x01);
        assertEquals(0x04, status() & 0x04, "system flag after self-test");
        assertEquals(0x55, data());
        assertEquals(0, status() & 0x01);
    }

    @Test
    void commandByteReadAndWrite() {
        command(0x20);
        assertEquals(0x45, data());
        command(0x60);
        writeData(0x07);
        command(0x20);
        assertEquals(0x07, data());
    }

    @Test
    void interfaceTestsAndEnables() {
        command(0xAB);
        assertEquals(0x00, data());
        command(0xA9);
        assertEquals(0x00, data());
        command(0xAD);
        command(0xA7);
        command(0x20);
        assertEquals(0x30, data() & 0x30);
        command(0xAE);
        command(0xA8);
        command(0x20);
        assertEquals(0x00, data() & 0x30);
        assertTrue(power.events.isEmpty());
    }

    @Test
    void pulseResetLineResetsTheGuest() {
        command(0xFE);
        assertEquals(List.of("reset"), power.events);
    }

    @Test
    void outputPortResetBit() {
        command(0xD1);
        writeData(0xDF); // A20 on, reset line high: no reset
        assertTrue(power.events.isEmpty());
        command(0xD1);
        writeData(0xDE);
        assertEquals(List.of("reset"), power.events);
    }

    @Test
    void keyboardAnswersAndRaisesIrq1() {
        writeData(0xFF);
        assertEquals(List.of(true), irq);
        assertEquals(0xFA, data());
        assertEquals(0xAA, data());
        assertEquals(List.of(true, false), irq);
        writeData(0xF2);
        assertEquals(0xFA, data());
        assertEquals(0xAB, data());
        assertEquals(0x41, data(), "translated MF2 id");
        writeData(0xED);
        writeData(0x02);
        assertEquals(0xFA, data());
        assertEquals(0xFA, data());
        assertEquals(0xFA, data(), "empty buffer reads back the last byte");
    }

    @Test
    void noIrqWhenTheCommandByteDisablesIt() {
        command(0x60);
        writeData(0x44);
        irq.clear();
        writeData(0xFF);
        assertTrue(irq.isEmpty());
        assertEquals(0x01, status() & 0x01);
    }

    @Test
    void gapPortsReadAllOnes() {
        byte[] b = new byte[5];
        kbc.write(1, new byte[] {(byte) 0xFE, (byte) 0xFE, (byte) 0xFE});
        assertTrue(power.events.isEmpty());
        kbc.read(0, b);
        assertEquals((byte) 0xFF, b[1]);
        assertEquals((byte) 0xFF, b[3]);
        assertEquals(0x10, b[4] & 0x10);
    }

    @Test
    void auxLoopbackIsMarkedAsMouseData() {
        command(0xD3);
        writeData(0x5A);
        assertEquals(0x21, status() & 0x21);
        assertEquals(0x5A, data());
        command(0xD4);
        writeData(0xF4); // no mouse answers
        assertEquals(0, status() & 0x01);
    }
}
