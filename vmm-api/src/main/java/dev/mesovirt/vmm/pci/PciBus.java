package dev.mesovirt.vmm.pci;

import dev.mesovirt.vmm.device.IrqLine;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;

/**
 * One PCI bus: up to 32 devices of up to 8 functions each. The root bus is bus 0; every other bus sits behind a
 * bridge, and its number is whatever the guest (or the firmware's assignment) programmed into that bridge.
 * Functions are attached and detached under the {@link PciRoot}'s lock.
 */
public final class PciBus {
    private final PciRoot root;
    private final PciBridge owner;
    private final boolean onlyDeviceZero;
    private final PciFunction[] functions = new PciFunction[256];
    /** Which of {@link #functions} are taken: walks visit those only, not all 256 slots. */
    private final BitSet occupied = new BitSet(256);

    PciBus(PciRoot root, PciBridge owner, boolean onlyDeviceZero) {
        this.root = root;
        this.owner = owner;
        this.onlyDeviceZero = onlyDeviceZero;
    }

    /**
     * A bus behind {@code owner}; {@code onlyDeviceZero} for the link below a PCI Express downstream port, which
     * has device 0 only.
     */
    public static PciBus behind(PciRoot root, PciBridge owner, boolean onlyDeviceZero) {
        return new PciBus(root, owner, onlyDeviceZero);
    }

    public PciRoot root() {
        return root;
    }

    /** The bridge in front of this bus, empty for the root bus. */
    public Optional<PciBridge> owner() {
        return Optional.ofNullable(owner);
    }

    /** The bus number: 0 for the root bus, else the owning bridge's secondary bus number. */
    public int number() {
        return owner == null ? 0 : owner.header().secondaryBus();
    }

    /**
     * Puts {@code f} at {@code device}.{@code function}. Throws {@link IllegalArgumentException} for a device
     * number above 31, a function number above 7, an address already taken, a device other than 0 below a PCI
     * Express port, or a function already attached elsewhere.
     */
    public void attach(int device, int function, PciFunction f) {
        synchronized (root.lock()) {
            check(device, function);
            if (onlyDeviceZero && device != 0) {
                throw new IllegalArgumentException("the link below " + describeOwner() + " has device 0 only, not "
                        + device);
            }
            int devfn = device << 3 | function;
            if (functions[devfn] != null) {
                throw new IllegalArgumentException(String.format("PCI address %02x.%x on %s is taken", device,
                        function, describe()));
            }
            if (f.header().place() != null) {
                throw new IllegalArgumentException("the function is already attached at "
                        + f.header().place().address());
            }
            functions[devfn] = f;
            occupied.set(devfn);
            f.attach(new PciHeader.Attachment(this, device, function, root.mapper(), root.msiRouter(),
                    intxLine(device, f.header().interruptPin())));
            updateMultiFunction(device);
        }
    }

    /** Removes the function at {@code device}.{@code function}, detaching it; empty when there was none. */
    public Optional<PciFunction> detach(int device, int function) {
        synchronized (root.lock()) {
            check(device, function);
            int devfn = device << 3 | function;
            PciFunction f = functions[devfn];
            if (f == null) {
                return Optional.empty();
            }
            functions[devfn] = null;
            occupied.clear(devfn);
            f.detach();
            updateMultiFunction(device);
            return Optional.of(f);
        }
    }

    private static void check(int device, int function) {
        if (device < 0 || device > 31) {
            throw new IllegalArgumentException("PCI device number " + device + " is not in 0..31");
        }
        if (function < 0 || function > 7) {
            throw new IllegalArgumentException("PCI function number " + function + " is not in 0..7");
        }
    }

    /** Function 0 says "multi-function" while other functions share its device number. */
    private void updateMultiFunction(int device) {
        PciFunction f0 = functions[device << 3];
        if (f0 == null) {
            return;
        }
        boolean others = false;
        for (int fn = 1; fn < 8; fn++) {
            others |= functions[device << 3 | fn] != null;
        }
        f0.header().setMultiFunction(others);
    }

    /** The function at {@code device}.{@code function}, if any. */
    public Optional<PciFunction> function(int device, int function) {
        check(device, function);
        return Optional.ofNullable(functions[device << 3 | function]);
    }

    /** Every attached function, in device.function order. */
    public List<PciFunction> functions() {
        synchronized (root.lock()) {
            List<PciFunction> out = new ArrayList<>(occupied.cardinality());
            for (int devfn = occupied.nextSetBit(0); devfn >= 0; devfn = occupied.nextSetBit(devfn + 1)) {
                out.add(functions[devfn]);
            }
            return out;
        }
    }

    PciFunction at(int devfn) {
        return functions[devfn];
    }

    /** The first taken devfn at or after {@code from}, or -1 (under the root's lock). */
    int nextTaken(int from) {
        return occupied.nextSetBit(from);
    }

    /**
     * The host line that pin {@code pin} (1 = INTA .. 4 = INTD) of {@code device} on this bus reaches: swizzled
     * through each bridge above ((device + pin) mod 4 at each level), then by the root bus's rule.
     */
    int hostLine(int device, int pin) {
        int p = (device + pin - 1) & 3;
        if (owner == null) {
            return p;
        }
        PciHeader.Attachment up = owner.header().place();
        if (up == null) {
            return -1;
        }
        return up.bus().hostLine(up.device(), p + 1);
    }

    /** The pin's line, resolved at each assertion: a bridge above may be attached after the function. */
    private IrqLine intxLine(int device, int pin) {
        return pin == 0 ? IrqLine.NONE : root.intxSource(() -> hostLine(device, pin));
    }

    String describe() {
        return owner == null ? "the root bus" : "the bus behind " + describeOwner();
    }

    private String describeOwner() {
        PciHeader.Attachment p = owner.header().place();
        return p == null ? "an unattached bridge" : "bridge " + p.address();
    }
}
