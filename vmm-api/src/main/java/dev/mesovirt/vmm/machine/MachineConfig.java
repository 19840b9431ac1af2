package dev.mesovirt.vmm.machine;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * Everything a machine is built from: plain data, produced by the CLI parser or by a program.
 *
 * @param name the VM's name (-name), for logs and QMP
 * @param uuid the VM's UUID (-uuid)
 * @param memoryBytes guest RAM in bytes (-m)
 * @param vcpus number of vCPUs (-smp)
 * @param kernel the kernel image (-kernel); empty when the machine starts firmware from flash instead (the standard
 *     machine with -drive if=pflash), which then loads the guest's boot loader itself
 * @param initrd an optional initramfs (-initrd)
 * @param commandLine the kernel command line (-append)
 * @param serial where the first UART's bytes go (-serial)
 * @param dumpGuestCore whether guest RAM appears in the VMM's core dumps (-machine dump-guest-core=)
 * @param devices virtio devices, in command-line order (-drive/-device/-object/-netdev), which is the microVM's slot
 *     order
 * @param hotplug places reserved for QMP hot-plug: the microVM's empty virtio-mmio slots after the devices' slots
 * @param sharedMemory guest RAM is a memfd another process can map (QEMU's memory-backend-memfd with share=on,
 *     StratoVirt's mem-share=on), as a vhost-user device's back-end must
 */
public record MachineConfig(
        String name,
        Optional<UUID> uuid,
        long memoryBytes,
        int vcpus,
        Optional<Path> kernel,
        Optional<Path> initrd,
        String commandLine,
        SerialConfig serial,
        boolean dumpGuestCore,
        java.util.List<VirtioConfig> devices,
        HotplugSlots hotplug,
        boolean sharedMemory) {

    public static final long DEFAULT_MEMORY = 256L << 20;
    /** The smallest guest we agree to boot. */
    public static final long MIN_MEMORY = 64L << 20;
    /**
     * The most vCPUs a machine takes on any architecture: StratoVirt's documented range, 1..254. Each architecture
     * enforces its own hardware limit on top when it lays the machine out (x86's 8-bit xAPIC IDs, arm64's
     * redistributor region, riscv64's IMSIC files), and KVM's KVM_CAP_MAX_VCPUS is checked at start.
     */
    public static final int MAX_VCPUS = 254;

    /**
     * How many virtio-blk and virtio-net devices the microVM takes in StratoVirt's replaceable slots: 4 and 2, the
     * command-line devices of each kind included (they take the first slots, device_add's addr counts them); the rest
     * are reserved empty for hot-plug, as many as the window holds. {@link #NONE} without a QMP monitor, as nothing
     * could fill them.
     */
    public record HotplugSlots(int block, int net) {
        public static final HotplugSlots NONE = new HotplugSlots(0, 0);
        public static final HotplugSlots STRATOVIRT = new HotplugSlots(4, 2);

        public HotplugSlots {
            if (block < 0 || net < 0) {
                throw new IllegalArgumentException("negative hot-plug slot count");
            }
        }
    }

    public MachineConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(commandLine, "commandLine");
        Objects.requireNonNull(serial, "serial");
        devices = java.util.List.copyOf(devices);
        Objects.requireNonNull(hotplug, "hotplug");
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (VirtioConfig d : devices) {
            if (!ids.add(d.id())) {
                throw new IllegalArgumentException("duplicate device id '" + d.id() + "'");
            }
        }
        if (vcpus < 1 || vcpus > MAX_VCPUS) {
            throw new IllegalArgumentException("vCPU count " + vcpus + " out of range 1.." + MAX_VCPUS);
        }
        if (memoryBytes <= 0 || memoryBytes % (1 << 20) != 0) {
            throw new IllegalArgumentException("memory size must be a positive number of MiB: " + memoryBytes);
        }
        for (VirtioConfig d : devices) {
            if (d instanceof VirtioConfig.Fs fs && !sharedMemory) {
                throw new IllegalArgumentException("device " + fs.id() + ": a vhost-user device needs guest RAM its"
                        + " back-end can map: shared memory (-object memory-backend-memfd,id=M,size=S,share=on with"
                        + " -machine memory-backend=M, or -machine mem-share=on)");
            }
        }
    }

    /** A configuration that boots {@code kernel} directly. */
    public MachineConfig(String name, Optional<UUID> uuid, long memoryBytes, int vcpus, Path kernel,
            Optional<Path> initrd, String commandLine, SerialConfig serial, boolean dumpGuestCore,
            java.util.List<VirtioConfig> devices, HotplugSlots hotplug, boolean sharedMemory) {
        this(name, uuid, memoryBytes, vcpus, Optional.of(kernel), initrd, commandLine, serial, dumpGuestCore, devices,
                hotplug, sharedMemory);
    }

    /** A configuration whose guest RAM is private to the VMM. */
    public MachineConfig(String name, Optional<UUID> uuid, long memoryBytes, int vcpus, Path kernel,
            Optional<Path> initrd, String commandLine, SerialConfig serial, boolean dumpGuestCore,
            java.util.List<VirtioConfig> devices, HotplugSlots hotplug) {
        this(name, uuid, memoryBytes, vcpus, Optional.of(kernel), initrd, commandLine, serial, dumpGuestCore, devices,
                hotplug, false);
    }

    /** A configuration without virtio devices. */
    public MachineConfig(String name, Optional<UUID> uuid, long memoryBytes, int vcpus, Path kernel,
            Optional<Path> initrd, String commandLine, SerialConfig serial, boolean dumpGuestCore) {
        this(name, uuid, memoryBytes, vcpus, kernel, initrd, commandLine, serial, dumpGuestCore, java.util.List.of(),
                HotplugSlots.NONE);
    }

    /** A configuration with defaults: 256 MiB, 1 vCPU, serial on stdio. */
    public static MachineConfig of(Path kernel, Optional<Path> initrd, String commandLine) {
        return new MachineConfig("mesovirt", Optional.empty(), DEFAULT_MEMORY, 1, Optional.of(kernel), initrd,
                commandLine, new SerialConfig.Stdio(), true, java.util.List.of(), HotplugSlots.NONE, false);
    }

    public MachineConfig withMemory(long bytes) {
        return new MachineConfig(name, uuid, bytes, vcpus, kernel, initrd, commandLine, serial, dumpGuestCore, devices, hotplug, sharedMemory);
    }

    public MachineConfig withVcpus(int count) {
        return new MachineConfig(name, uuid, memoryBytes, count, kernel, initrd, commandLine, serial, dumpGuestCore, devices, hotplug, sharedMemory);
    }

    public MachineConfig withSerial(SerialConfig s) {
        return new MachineConfig(name, uuid, memoryBytes, vcpus, kernel, initrd, commandLine, s, dumpGuestCore, devices, hotplug, sharedMemory);
    }

    public MachineConfig withDevices(java.util.List<VirtioConfig> d) {
        return new MachineConfig(name, uuid, memoryBytes, vcpus, kernel, initrd, commandLine, serial, dumpGuestCore, d, hotplug, sharedMemory);
    }

    public MachineConfig withSharedMemory(boolean shared) {
        return new MachineConfig(name, uuid, memoryBytes, vcpus, kernel, initrd, commandLine, serial, dumpGuestCore, devices, hotplug, shared);
    }

    public MachineConfig withHotplug(HotplugSlots h) {
        return new MachineConfig(name, uuid, memoryBytes, vcpus, kernel, initrd, commandLine, serial, dumpGuestCore, devices, h, sharedMemory);
    }
}
