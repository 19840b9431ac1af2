package dev.mesovirt.arch.x86_64.devices;

import dev.mesovirt.vmm.arch.GuestPower;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what devices ask of the machine. */
final class RecordingPower implements GuestPower {
    final List<String> events = new CopyOnWriteArrayList<>();

    @Override
    public void powerOff() {
        events.add("off");
    }

    @Override
    public void reset() {
        events.add("reset");
    }

    @Override
    public void panic(String detail) {
        events.add("panic: " + detail);
    }
}
