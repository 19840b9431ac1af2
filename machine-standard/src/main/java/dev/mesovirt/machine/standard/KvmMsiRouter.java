package dev.mesovirt.machine.standard;

import dev.mesovirt.vmm.arch.IrqChip;
import dev.mesovirt.vmm.kvm.GsiRoute;
import dev.mesovirt.vmm.kvm.Vm;
import dev.mesovirt.vmm.pci.MsiRouter;
import dev.mesovirt.vmm.pci.MsiVector;
import dev.mesovirt.vmm.sys.EventFd;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MSI and MSI-X delivery over KVM: each vector gets a GSI from the interrupt controller's MSI range, a route for the
 * message the guest programmed, and an irqfd, so that signalling it is one eventfd write and the interrupt goes
 * in-kernel all the way to the vCPU. KVM_SET_GSI_ROUTING replaces the whole table, so every change resends the
 * controller's default routes with the routes of every live vector (QEMU and Cloud Hypervisor do the same).
 */
final class KvmMsiRouter implements MsiRouter {
    private static final Logger LOG = LoggerFactory.getLogger(KvmMsiRouter.class);

    /** What the router needs of a VM; {@link #of(Vm)} gives the real one, tests record the calls. */
    interface Target {
        void setRoutes(List<GsiRoute> routes);

        void attach(EventFd eventFd, int gsi);

        void detach(EventFd eventFd, int gsi);

        static Target of(Vm vm) {
            return new Target() {
                @Override
                public void setRoutes(List<GsiRoute> routes) {
                    vm.setGsiRouting(routes);
                }

                @Override
                public void attach(EventFd eventFd, int gsi) {
                    vm.registerIrqfd(eventFd, gsi);
                }

                @Override
                public void detach(EventFd eventFd, int gsi) {
                    vm.unregisterIrqfd(eventFd, gsi);
                }
            };
        }
    }

    private final IrqChip chip;
    private final int gsiLimit;
    private final Deque<Integer> freeGsis = new ArrayDeque<>();
    private final Map<Integer, Vector> live = new LinkedHashMap<>();
    private Target target;
    /** Between a machine reset's {@link #moveTo} and {@link #attachLive}: nothing is sent to the target. */
    private boolean waiting;
    private int nextGsi;

    /**
     * @param gsiLimit one past the highest GSI the VM's routing table takes (KVM_CAP_IRQ_ROUTING)
     */
    KvmMsiRouter(IrqChip chip, int gsiLimit, Target target) {
        if (!chip.supportsMsi()) {
            throw new IllegalArgumentException(chip.description() + " takes no MSIs: no standard machine on it");
        }
        this.chip = chip;
        this.gsiLimit = gsiLimit;
        this.target = target;
        this.nextGsi = chip.firstMsiGsi();
    }

    @Override
    public synchronized MsiVector allocate(int requesterId) {
        Integer gsi = freeGsis.poll();
        if (gsi == null) {
            if (nextGsi >= gsiLimit) {
                // Bounded by the devices' MSI-X tables, far below KVM's 4096 routes; should it happen, the guest
                // loses that vector's interrupts (logged), never the VMM.
                LOG.warn("no GSI left for another MSI vector ({} routes); its interrupts are dropped", gsiLimit);
                return Dropped.INSTANCE;
            }
            gsi = nextGsi++;
        }
        return new Vector(gsi, requesterId);
    }

    /**
     * Machine reset: the old VM, its routes and irqfds are gone with it; the vectors still open are routed and
     * attached again on {@code newTarget} by {@link #attachLive}, once its interrupt controller is complete (arm64's
     * vGIC takes no irqfd before it is initialized, which is after the vCPUs: KVM_IRQFD failed with EAGAIN). Until
     * then the guest's programming only changes what will be attached.
     */
    synchronized void moveTo(Target newTarget) {
        target = newTarget;
        waiting = true;
    }

    /** After {@link #moveTo}, with the new VM's interrupt controller complete: the live vectors' routes and irqfds. */
    synchronized void attachLive() {
        if (!waiting) {
            return;
        }
        waiting = false;
        if (!live.isEmpty()) {
            target.setRoutes(routes());
            for (Vector v : live.values()) {
                target.attach(v.eventFd, v.gsi);
            }
        }
    }

    private List<GsiRoute> routes() {
        List<GsiRoute> routes = new ArrayList<>(chip.defaultRoutes());
        for (Vector v : live.values()) {
            routes.add(v.route);
        }
        return routes;
    }

    private synchronized void program(Vector v, long address, int data) {
        GsiRoute route = chip.msiRoute(v.gsi, address, data, v.requesterId);
        if (route.equals(v.route)) {
            return;
        }
        boolean first = v.route == null;
        v.route = route;
        live.put(v.gsi, v);
        if (waiting) {
            return;
        }
        target.setRoutes(routes());
        if (first) {
            target.attach(v.eventFd, v.gsi);
        }
    }

    private synchronized void close(Vector v) {
        if (v.closed) {
            return;
        }
        v.closed = true;
        if (live.remove(v.gsi) != null && !waiting) {
            target.detach(v.eventFd, v.gsi);
            target.setRoutes(routes());
        }
        v.eventFd.close();
        freeGsis.add(v.gsi);
    }

    /** One vector: its GSI, its route once programmed, and the irqfd that injects it. */
    private final class Vector implements MsiVector {
        final int gsi;
        final int requesterId;
        final EventFd eventFd = new EventFd(true);
        GsiRoute route;
        boolean closed;

        Vector(int gsi, int requesterId) {
            this.gsi = gsi;
            this.requesterId = requesterId;
        }

        @Override
        public void program(long address, int data) {
            KvmMsiRouter.this.program(this, address, data);
        }

        @Override
        public void signal() {
            eventFd.signal();
        }

        @Override
        public Optional<EventFd> irqfd() {
            return Optional.of(eventFd);
        }

        @Override
        public void close() {
            KvmMsiRouter.this.close(this);
        }
    }

    /** A vector for which no GSI was left: its messages go nowhere. */
    private enum Dropped implements MsiVector {
        INSTANCE;

        @Override
        public void program(long address, int data) {}

        @Override
        public void signal() {}

        @Override
        public void close() {}
    }
}
