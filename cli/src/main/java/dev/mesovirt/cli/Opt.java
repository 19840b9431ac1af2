package dev.mesovirt.cli;

/**
 * The option table: every option the parser knows, its argument and its --help line. Adding an option is one
 * constant here plus its case in {@link CommandLine}.
 *
 * <p>FUTURE options are spellings a later change will implement: they are rejected with "option -X is not supported
 * yet" rather than "unknown option", so a user knows the spelling is right. To implement one, change its
 * {@link Support} to SUPPORTED, give it a help text and handle it in CommandLine (repeatable options collect into a
 * list rather than the single-value slot).
 */
enum Opt {
    MACHINE("machine", "M", Arg.REQUIRED, Support.SUPPORTED,
            "[type=]microvm|q35|virt[,dump-guest-core=on|off][,mem-share=on|off][,memory-backend=ID][,acpi=on|off]",
            "machine type: microvm (the default), or the PCIe machine: q35 (x86_64), virt (aarch64,\n"
            + "                                riscv64); mem-share=on or a\n"
            + "                                memory-backend-memfd with share=on: RAM a vhost-user back-end can map;\n"
            + "                                virt: acpi=off (its device tree, the default), acpi=on (ACPI through UEFI firmware)"),
    KERNEL("kernel", null, Arg.REQUIRED, Support.SUPPORTED, "FILE", "guest kernel image (required)"),
    INITRD("initrd", null, Arg.REQUIRED, Support.SUPPORTED, "FILE", "initial ramdisk"),
    APPEND("append", null, Arg.REQUIRED, Support.SUPPORTED, "CMDLINE", "kernel command line"),
    MEMORY("m", null, Arg.REQUIRED, Support.SUPPORTED, "[size=]SIZE",
            "guest RAM: MiB, or suffix K, M, G or T (default 256M, minimum 64M)"),
    SMP("smp", null, Arg.REQUIRED, Support.SUPPORTED, "[cpus=]N[,maxcpus=N][,sockets=S,cores=C,threads=T]",
            "number of vCPUs, 1..254 (default 1); no CPU hotplug: maxcpus must equal cpus"),
    SERIAL("serial", null, Arg.REQUIRED, Support.SUPPORTED, "stdio|file:PATH|none",
            "first serial port (default stdio)"),
    NAME("name", null, Arg.REQUIRED, Support.SUPPORTED, "NAME", "VM name, used in logs (default mesovirt)"),
    UUID("uuid", null, Arg.REQUIRED, Support.SUPPORTED, "UUID", "VM UUID, e.g. 123e4567-e89b-12d3-a456-426614174000"),
    LOG("D", null, Arg.OPTIONAL, Support.SUPPORTED, "[LOGFILE]",
            "log at info level to LOGFILE (truncated), or to stderr without LOGFILE"),
    DISABLE_SECCOMP("disable-seccomp", null, Arg.NONE, Support.SUPPORTED, null,
            "no seccomp filter (by default one is on from the end of the machine build)"),
    FREEZE("S", "freeze", Arg.NONE, Support.SUPPORTED, null,
            "start with the vCPUs stopped (QMP: prelaunch) until QMP's cont; needs -qmp"),
    INCOMING("incoming", null, Arg.REQUIRED, Support.SUPPORTED, "file:DIR",
            "start from the snapshot in DIR (QMP migrate to file:DIR), with the same machine options"),
    HELP("help", "h", Arg.NONE, Support.SUPPORTED, null, "print this help and exit"),
    VERSION("version", "V", Arg.NONE, Support.SUPPORTED, null, "print the version and exit"),

    DAEMONIZE("daemonize", null, Arg.NONE, Support.NEVER, null, null),

    DRIVE("drive", null, Arg.REQUIRED, Support.SUPPORTED, "id=ID,file=PATH[,readonly=on|off][,direct=on|off][,if=none]",
            "a raw disk image for a virtio-blk-device/-pci (repeatable)"),
    DEVICE("device", null, Arg.REQUIRED, Support.SUPPORTED, "DRIVER,id=ID[,...]",
            "a device (repeatable); microvm: virtio-blk-device, virtio-net-device, virtio-rng-device,\n"
            + "                                virtio-serial-device, virtconsole, vhost-vsock-device,\n"
            + "                                vhost-user-fs-device,chardev=ID,tag=T[,queue-size=N];\n"
            + "                                q35, virt: virtio-blk-pci, virtio-net-pci, virtio-rng-pci,\n"
            + "                                virtio-serial-pci, virtconsole, vhost-vsock-pci,\n"
            + "                                vhost-user-fs-pci, each with\n"
            + "                                [bus=pcie.0|ROOT_PORT_ID][,addr=SLOT[.FN]], and\n"
            + "                                pcie-root-port,id=ID,port=N,bus=pcie.0,addr=SLOT[.FN]"),
    OBJECT("object", null, Arg.REQUIRED, Support.SUPPORTED,
            "rng-random,id=ID,filename=PATH|memory-backend-memfd,id=ID,size=SIZE,share=on|off",
            "an entropy source for a virtio-rng-device/-pci, or guest RAM for\n"
            + "                                -machine memory-backend= or -numa node,memdev= (repeatable)"),
    CHARDEV("chardev", null, Arg.REQUIRED, Support.SUPPORTED,
            "socket,id=ID,path=PATH[,server[,nowait]]|stdio,id=ID",
            "a character backend for a virtconsole (server,nowait) or a vhost-user device's\n"
            + "                                back-end (a client, or with server a listener) (repeatable)"),
    NUMA("numa", null, Arg.REQUIRED, Support.SUPPORTED, "node,memdev=ID[,nodeid=0]",
            "one NUMA node whose RAM is the memory-backend-memfd ID (as -machine memory-backend=ID)"),
    NETDEV("netdev", null, Arg.REQUIRED, Support.SUPPORTED, "tap,id=ID,ifname=TAP|tap,id=ID,fds=FD",
            "a TAP backend for a virtio-net-device/-pci (repeatable)"),
    QMP("qmp", null, Arg.REQUIRED, Support.SUPPORTED, "unix:PATH,server,nowait",
            "QMP control socket (mode 0600); reserves 4 virtio-blk and 2 virtio-net hot-plug slots"),
    MON("mon", null, Arg.REQUIRED, Support.SUPPORTED, "chardev=ID,mode=control[,id=ID]",
            "QMP on a -chardev socket (the same as -qmp)");

    enum Arg { NONE, REQUIRED, OPTIONAL }

    enum Support { SUPPORTED, FUTURE, NEVER }

    final String name;
    final String alias;
    final Arg arg;
    final Support support;
    final String argHelp;
    final String help;

    Opt(String name, String alias, Arg arg, Support support, String argHelp, String help) {
        this.name = name;
        this.alias = alias;
        this.arg = arg;
        this.support = support;
        this.argHelp = argHelp;
        this.help = help;
    }

    /** The spelling used in messages: "-kernel". */
    String display() {
        return "-" + name;
    }
}
