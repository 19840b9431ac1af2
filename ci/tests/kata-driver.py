#!/usr/bin/env python3
"""Kata Containers' StratoVirt driver, played from its sources against a VMM: Mesovirt, or QEMU's microvm to prove
the test.

What Kata (src/runtime/virtcontainers/stratovirt.go, 3.8 to 4.1; QMP through its govmm copy,
src/runtime/pkg/govmm/qemu/qmp.go) does, step by step, with the same bytes:
  - the launch line of createParams() and the devices' getParams(): -name sandbox-ID -uuid U -smp N -m MiB -kernel
    -append (getKernelParams: the configured kernel_params, then reboot=k panic=1 net.ifnames=0 ramdom.trust_cpu=on,
    microvm's pci=off iommu=off acpi=off, and debug console=hvc0 in debug mode) -qmp unix:VM/qmp.socket,server,nowait
    -D -disable-seccomp -machine type=microvm,dump-guest-core=off -initrd, an RNG, the debug console on
    VM/console.socket, the network endpoint on a TAP passed as fds=3 (opened as Kata's netlink opens it: IFF_TAP |
    IFF_NO_PI | IFF_VNET_HDR), the vhost-vsock device (unless MESOVIRT_KATA_VSOCK=0)
    (vhostfd= from /dev/vhost-vsock with a guest CID set, as utils.FindContextID does) and virtio-fs (unless MESOVIRT_KATA_FS=0; mem-share=on,
    a vhost-user socket served by virtiofsd started as Kata's virtiofsd.go starts it); launched with the inherited
    descriptors numbered from 3, stdout read, stderr to /dev/null, and in debug mode the environment Kata gives:
    STRATOVIRT_LOG_LEVEL=info and nothing else;
  - waitVM(): connect every 50 ms until the greeting, govmm's check that it names QEMU 5.0 or later,
    qmp_capabilities, disconnect; Check()/qmpSetup(): connect again, qmp_capabilities, and keep the connection;
  - GetThreadIDs(): query-cpus, the vCPUs' thread ids;
  - hotplugBlk(AddDevice): blockdev-add {driver raw, read-only, file {driver file|host_device (os.Stat), filename,
    aio native}, node-name}, then ExecutePCIDeviceAdd with driver virtio-blk-mmio, addr "1" (the slot of /dev/vdb),
    romfile "" (govmm's default transport is PCI on x86_64) and Kata 3.30's logical_block_size/physical_block_size
    from the configuration (set here: 512 and 4096); hotplugBlk(RemoveDevice): device_del, which govmm answers only
    once DEVICE_DELETED for the device has come;
  - StopVM: SIGKILL.
Every request is encoded as Go's json.Marshal encodes govmm's map (keys sorted, no blanks, "arguments" before
"execute"), one per line; replies and events are read as govmm's processQMPInput reads them.

What the issue asks for beyond that driver, from govmm and Kata's QEMU driver, which share this QMP client:
query-status (ExecuteQueryStatus) right after start-up; blockdev-del after DEVICE_DELETED (qemu.go's
hotplugBlockDevice); the network hot-plug of qemu.go's hotplugNetDevice (getfd of each queue's TAP descriptor with
SCM_RIGHTS, netdev_add by fds, ExecuteNetPCIDeviceAdd's device_add with StratoVirt's driver virtio-net-mmio and
addr "1" in place of virtio-net-pci, device_del, netdev_del); quit (ExecuteQuit) in place of the SIGKILL.

Where this run deviates from Kata's bytes, DEVIATIONS says so and why. With --vmm qemu, QEMU's microvm (pcie=on,
two pcie-root-ports for the hot-plug) runs the same session with the substitutions QEMU_SUBSTITUTIONS lists; its
guest is not looked at. With --vmm mesovirt the guest's side is checked through the debug console: the NIC on the
passed TAP answers ping, the hot-plugged disk is read and written with the sector sizes asked for, the hot-plugged
NIC pings.

usage: kata-driver.py --vmm mesovirt|qemu --bin PATH --kernel K --initrd I --work DIR
Prints one line per check and ends with "kata-driver: N checks, M failed"; exit status 0 only if none failed.
"""
import argparse
import fcntl
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid

# Kata's stratovirt.go.
DEFAULT_KERNEL_PARAMS = [("reboot", "k"), ("panic", "1"), ("net.ifnames", "0"), ("ramdom.trust_cpu", "on")]
DEFAULT_MICROVM_PARAMS = [("pci", "off"), ("iommu", "off"), ("acpi", "off")]
DEBUG_PARAMS = [("debug", ""), ("console", "hvc0")]
V_SOCK_LOGS_PORT = 1025
MAX_MMIO_BLK_COUNT = 4

# What this run changes in Kata's bytes, and why (also in the README's Kata section).
DEVIATIONS = {
    "acpi=off": "dropped from the kernel command line: Debian's kernels have virtio_mmio as a module without "
                "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (and the cloud kernel lacks CONFIG_X86_MPPARSE), so without ACPI "
                "they find no device; Kata's guest kernel has both, and Mesovirt then writes the MP tables and "
                "virtio_mmio.device= parameters as StratoVirt does (kata.sh boots acpi=off separately)",
    "kernel_params": "the configured kernel_params are this test's: rdinit=/kata-init (a stand-in for Kata's "
                     "agent that opens the console once virtio_console, a module here, has loaded) and "
                     "guest.shell=1 (a shell on that console)",
    "initrd": "initrd mode (Kata's initrd= configuration): image mode boots root=/dev/vda1 without an initramfs, "
              "which needs virtio_blk built in; Debian's kernels have it as a module",
    "guest re-probe": "after the NIC's device_add and before its device_del the guest binds and unbinds the "
                      "slot's virtio-mmio platform device (README's hot-plug); Kata's agent does not. Disks need "
                      "no such step: their slots hold an empty drive from boot, as StratoVirt's do",
    "quit": "quit ends the VM where StopVM sends SIGKILL",
    "virtiofsd": "where only QEMU 7.2's C virtiofsd exists (Debian 12), Kata's virtiofsd options are given in its "
                 "spelling (-o source=, -o cache=auto) and its log goes to a file (no syslog); the VMM's line is "
                 "Kata's",
}
# How the QEMU run spells the same session (QEMU's microvm hot-plugs on PCIe root ports only, and file-posix takes
# aio=native only with cache.direct=on).
QEMU_SUBSTITUTIONS = {
    "virtio-blk-mmio": ("virtio-blk-pci", "rp1", "0"),
    "virtio-net-mmio": ("virtio-net-pci", "rp2", "0"),
    "blockdev-add": "cache: {direct: true, no-flush: false} added (ExecuteBlockdevAddWithCache's member)",
    "query-cpus": "query-cpus-fast (removed from QEMU in 6.0; Kata's QEMU driver asks this one)",
}

# DEVIATIONS["guest re-probe"] (NICs only): the guest binds every virtio-mmio slot that has no driver (README's
# hot-plug), then gives the driver a moment.
BIND_SLOTS = ("for d in /sys/bus/platform/devices/LNRO0005:*; do [ -e $d/driver ] || echo ${d##*/} > "
              "/sys/bus/platform/drivers/virtio-mmio/bind; done 2>/dev/null; sleep 2; ")

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
VHOST_VSOCK_SET_GUEST_CID = 0x4008AF60

CHECKS = []


def check(what, ok, detail=""):
    CHECKS.append((what, ok))
    print(("  ok: " if ok else "  FAILED: ") + what + (f" ({detail})" if detail and not ok else ""), flush=True)
    return ok


def serialize(params):
    """Kata's SerializeParams(params, "=")."""
    out = []
    for k, v in params:
        if k == "" and v == "":
            continue
        out.append(v if k == "" else k if v == "" else f"{k}={v}")
    return out


def go_json(obj):
    """Go's json.Marshal of govmm's map[string]interface{}: keys sorted, no blanks, HTML characters escaped."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class QmpError(Exception):
    pass


class Govmm:
    """govmm's QMP client: QMPStart (greeting, version check), executeCommand with event filters, one command at a
    time."""

    def __init__(self, path, log, timeout=120):
        self.log = log
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.version = None
        # mainLoop: lines before the greeting that are not one (events) are skipped.
        while self.version is None:
            self.version = self.parse_version(self.readline())
        if self.version["major"] < 5:
            raise QmpError(f"govmm requires qemu version 5.0 or later, this is qemu "
                           f"({self.version['major']}.{self.version['minor']})")

    def readline(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        self.log.write(b"<- " + line + b"\n")
        self.log.flush()
        return line

    @staticmethod
    def parse_version(line):
        try:
            qmp = json.loads(line)
        except ValueError:
            return None
        m = qmp
        for k in ("QMP", "version", "qemu"):
            m = m.get(k) if isinstance(m, dict) else None
            if not isinstance(m, dict):
                return None
        caps = qmp["QMP"].get("capabilities")
        return {"major": int(m.get("major", 0)), "minor": int(m.get("minor", 0)),
                "micro": int(m.get("micro", 0)),
                "capabilities": [c for c in caps if isinstance(c, str)] if isinstance(caps, list) else [],
                "package": qmp["QMP"]["version"].get("package")}

    def execute(self, name, args=None, fds=(), event=None):
        """executeCommand: the request; the reply's "return", or QmpError with the error's desc. With event =
        (name, key, value) the command completes once that event has come too, before or after the reply."""
        cmd = {"execute": name}
        if args is not None:
            cmd["arguments"] = args
        data = go_json(cmd).encode() + b"\n"
        self.log.write(b"-> " + data)
        self.log.flush()
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)
        result, seen = None, event is None
        have_result = False
        while True:
            msg = json.loads(self.readline())
            if "event" in msg:
                self.events.append(msg)
                data_ = msg.get("data") if isinstance(msg.get("data"), dict) else None
                if not seen and msg["event"] == event[0] and (event[1] == "" or (data_ or {}).get(event[1]) == event[2]):
                    seen = True
                    if have_result:
                        return result
                continue
            if "error" in msg:
                desc = msg["error"].get("desc") if isinstance(msg["error"], dict) else None
                raise QmpError(f"QMP command failed: {desc if desc is not None else msg['error']}")
            if "return" in msg:
                result, have_result = msg["return"], True
                if seen:
                    return result

    def close(self):
        self.sock.close()


class Console:
    """The debug console's socket (VM/console.socket), as Kata's shim reads it: everything the guest writes, and
    lines typed into the guest's shell."""

    def __init__(self, path, log_path, deadline, alive):
        self.alive = alive
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.text = ""
        self.lock = threading.Lock()
        self.log = open(log_path, "w", errors="replace")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            s = data.decode(errors="replace").replace("\r", "")
            with self.lock:
                self.text += s
            self.log.write(s)
            self.log.flush()

    def type(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def wait(self, regex, timeout):
        deadline = time.time() + timeout
        pattern = re.compile(regex, re.M)
        while time.time() < deadline:
            with self.lock:
                m = pattern.search(self.text)
            if m:
                return m
            if not self.alive():
                time.sleep(0.5)  # what the reader still had
                with self.lock:
                    return pattern.search(self.text)
            time.sleep(0.2)
        return None


def open_kata_tap(name, ip):
    """A TAP as Kata's createLink makes it for a VMM without multi-queue: netlink's Tuntap with IFF_TAP | IFF_NO_PI |
    IFF_VNET_HDR, one queue, persistent, the descriptor kept; plus the address of the pod's side (here: the host's
    end for the test's ping)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    fcntl.ioctl(fd, TUNSETPERSIST, 1)
    subprocess.run(["ip", "addr", "add", ip, "dev", name], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    return fd


def spawn(argv, fds, env, stdout, stderr):
    """exec.Cmd with ExtraFiles: fds[i] becomes descriptor 3 + i in the child (Go dup2s them there); every other
    descriptor of ours is close-on-exec (Python's default), so the child gets only these."""
    def place():
        high = [os.dup(fd) for fd in fds]  # out of the way of 3, 4, ... first
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)             # dup2'd descriptors are inherited
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(stdout, "wb"), stderr=open(stderr, "wb"),
                            env=env, preexec_fn=place, close_fds=False)


def delete_tap(name):
    subprocess.run(["ip", "link", "del", name], capture_output=True)


def find_context_id():
    """utils.FindContextID: /dev/vhost-vsock with the first free guest CID from a random start."""
    fd = os.open("/dev/vhost-vsock", os.O_RDWR)
    start = 3 + int.from_bytes(os.urandom(2), "little")
    for cid in list(range(start, start + 4096)) + list(range(start - 1, 2, -1)):
        try:
            fcntl.ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, struct.pack("Q", cid))
            return fd, cid
        except OSError:
            continue
    os.close(fd)
    raise OSError("no free vsock context ID")


class Kata:
    def __init__(self, a):
        self.a = a
        self.mesovirt = a.vmm == "mesovirt"
        self.sandbox = "4f0c1d9e7b2a4c8d9e6f1a2b3c4d5e6f" + ("m" if self.mesovirt else "q")
        self.vm_path = os.path.join(a.work, self.sandbox)
        os.makedirs(self.vm_path, exist_ok=True)
        self.qmp_path = os.path.join(self.vm_path, "qmp.socket")
        self.console_path = os.path.join(self.vm_path, "console.socket")
        self.fs_sock = os.path.join(self.vm_path, "virtiofs_kata.socket")
        self.vsock = os.environ.get("MESOVIRT_KATA_VSOCK", "1") == "1"
        self.fs = os.environ.get("MESOVIRT_KATA_FS", "1") == "1"
        self.vcpus, self.memory = 2, 256
        # The hypervisor configuration this run uses (configuration-stratovirt.toml's keys).
        self.kernel_params = [("rdinit", "/kata-init"), ("guest.shell", "1")]
        self.logical_sector, self.physical_sector = 512, 4096
        self.fds = []       # ExtraFiles, in AddDevice order
        self.tap_names = []
        self.proc = None

    # --- launch line -------------------------------------------------------------------------------------------
    def kernel_params_text(self):
        params = list(DEFAULT_KERNEL_PARAMS) + list(DEFAULT_MICROVM_PARAMS) + list(DEBUG_PARAMS)
        params = [p for p in params if p != ("acpi", "off")]  # DEVIATIONS["acpi=off"]
        return " ".join(serialize(self.kernel_params + params))

    def stratovirt_line(self, tap_fd, vsock):
        """createParams() with the devices Kata adds: RNG, debug console, the network endpoint, vsock, virtio-fs."""
        fd_numbers = []

        def append_fds(fds):
            first = 3 + len(fd_numbers)
            fd_numbers.extend(fds)
            return [first + i for i in range(len(fds))]

        p = ["-name", f"sandbox-{self.sandbox}", "-uuid", str(uuid.uuid4()), "-smp", str(self.vcpus),
             "-m", str(self.memory), "-kernel", self.a.kernel, "-append", self.kernel_params_text(),
             "-qmp", f"unix:{self.qmp_path},server,nowait", "-D", "-disable-seccomp"]
        p += ["-machine", "type=microvm,dump-guest-core=off" + (",mem-share=on" if self.fs else "")]
        p += ["-initrd", self.a.initrd]
        p += ["-object", "rng-random,id=objrng0,filename=/dev/urandom",
              "-device", "virtio-rng-device,rng=objrng0,id=virtio-rng0"]
        p += ["-device", "virtio-serial-device,id=virtio-serial0",
              "-chardev", f"socket,id=charconsole0,path={self.console_path},server,nowait",
              "-device", "virtconsole,chardev=charconsole0,id=virtio-console0,nr=0"]
        n = append_fds([tap_fd])
        p += ["-netdev", f"tap,id=eth0,fds={':'.join(map(str, n))}",
              "-device", f"virtio-net-device,netdev=eth0,id=eth0,mac={self.a.mac}"]
        if vsock:
            n = append_fds([vsock[0]])
            p += ["-device", f"vhost-vsock-device,id=vsock-id,guest-cid={vsock[1]},vhostfd={n[0]}"]
        if self.fs:
            p += ["-chardev", f"socket,id=virtio_fs,path={self.fs_sock},server,nowait",
                  "-device", "vhost-user-fs-device,chardev=virtio_fs,tag=kataShared,id=virtio-fs0"]
        return p, fd_numbers

    def qemu_line(self, tap_fd):
        """The same machine in QEMU's spelling (microvm, its devices, the debug console), with PCIe root ports."""
        p = ["-name", f"sandbox-{self.sandbox}", "-uuid", str(uuid.uuid4()), "-smp", str(self.vcpus),
             "-m", str(self.memory), "-kernel", self.a.kernel, "-append", self.kernel_params_text(),
             "-qmp", f"unix:{self.qmp_path},server,nowait", "-M", "microvm,pcie=on,dump-guest-core=off",
             "-accel", "kvm", "-cpu", "host", "-nodefaults", "-no-user-config", "-display", "none",
             "-initrd", self.a.initrd,
             "-object", "rng-random,id=objrng0,filename=/dev/urandom",
             "-device", "virtio-rng-device,rng=objrng0,id=virtio-rng0",
             "-device", "virtio-serial-device,id=virtio-serial0",
             "-chardev", f"socket,id=charconsole0,path={self.console_path},server=on,wait=off",
             "-device", "virtconsole,chardev=charconsole0,id=virtio-console0,nr=0",
             "-netdev", "tap,id=eth0,fd=3", "-device", f"virtio-net-device,netdev=eth0,id=eth0,mac={self.a.mac}",
             "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
             "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2"]
        return p, [tap_fd]

    def launch(self, args, fds, env):
        """launchStratovirt(): exec.Command with ExtraFiles (descriptors 3, 4, ... in order), stdout read (here into
        a file), stderr to /dev/null (kept in a file here)."""
        self.proc = spawn([self.a.bin] + args, fds, env, os.path.join(self.a.work, f"{self.a.vmm}.stdout"),
                          os.path.join(self.a.work, f"{self.a.vmm}.stderr"))
        print(f"  launched {self.a.bin} with: {args}", flush=True)

    # --- QMP -------------------------------------------------------------------------------------------------
    def wait_vm(self, timeout):
        """waitVM(): QMPStart every 50 ms until it connects and greets, then qmp_capabilities; plus query-status on
        this first connection (the issue's check: a client right after start-up sees the machine running)."""
        start = time.time()
        while True:
            try:
                qmp = Govmm(self.qmp_path, self.qmp_log)
                break
            except (OSError, EOFError) as e:
                if self.proc.poll() is not None:
                    raise QmpError(f"the VMM exited ({self.proc.returncode}) before its QMP socket answered")
                if time.time() - start > timeout:
                    raise QmpError(f"Failed to connect StratoVirt instance (timeout {timeout}s): {e}")
                time.sleep(0.05)
        print(f"  QMP details: {qmp.version} after {time.time() - start:.1f} s", flush=True)
        check("greeting: a QEMU version govmm accepts (>= 5.0), with capabilities",
              qmp.version["major"] >= 5, str(qmp.version))
        if self.mesovirt:
            check("greeting: Mesovirt's own version in package", str(qmp.version["package"]).startswith("Mesovirt"),
                  str(qmp.version["package"]))
        qmp.execute("qmp_capabilities")
        status = qmp.execute("query-status")
        check("query-status on the first connection: running", status == {"running": True, "singlestep": False,
                                                                          "status": "running"}, str(status))
        qmp.close()

    def qmp_setup(self):
        qmp = Govmm(self.qmp_path, self.qmp_log)
        qmp.execute("qmp_capabilities")
        return qmp

    # --- the run ---------------------------------------------------------------------------------------------
    def run(self):
        a = self.a
        self.qmp_log = open(os.path.join(a.work, f"{a.vmm}.qmp.log"), "wb")
        for k, v in DEVIATIONS.items():
            print(f"  deviation ({k}): {v}")
        if not self.mesovirt:
            for k, v in QEMU_SUBSTITUTIONS.items():
                print(f"  qemu substitution ({k}): {v}")
        tap0 = f"tap0_kata{a.vmm[0]}"
        tap1 = f"tap1_kata{a.vmm[0]}"
        tap_fd = open_kata_tap(tap0, "10.0.2.1/24")
        self.tap_names.append(tap0)
        vsock = find_context_id() if self.vsock and self.mesovirt else None
        virtiofsd = None
        try:
            if self.fs and self.mesovirt:
                virtiofsd = self.start_virtiofsd()
            if self.mesovirt:
                args, fds = self.stratovirt_line(tap_fd, vsock)
                env = {"STRATOVIRT_LOG_LEVEL": "info"}   # debug mode: cmd.Env
                # Measuring (ci/seccomp-measure.sh): bin/mesovirt's JVM under its strace wrapper; Kata's environment
                # otherwise. The line keeps -disable-seccomp: the trace counts from the first KVM_RUN.
                env.update({k: os.environ[k] for k in ("MESOVIRT_WRAPPER", "MESOVIRT_SECCOMP_OUT") if k in os.environ})
            else:
                args, fds = self.qemu_line(tap_fd)
                env = dict(os.environ)
            t0 = time.time()
            self.launch(args, fds, env)
            # Kata's StartVM closes its copies once the VMM has them.
            os.close(tap_fd)
            tap_fd = None
            if vsock:
                os.close(vsock[0])
            console = None
            if self.mesovirt:
                console = Console(self.console_path, os.path.join(a.work, "guest-console.log"), time.time() + 120,
                                  lambda: self.proc.poll() is None)
            self.wait_vm(180)
            print(f"  waitVM done {time.time() - t0:.1f} s after launch", flush=True)
            qmp = self.qmp_setup()
            if self.mesovirt:
                cpus = qmp.execute("query-cpus")
                check("GetThreadIDs (query-cpus): a host thread per vCPU",
                      len(cpus) == self.vcpus and all(c.get("thread_id", 0) > 0 for c in cpus)
                      and sorted(c["CPU"] for c in cpus) == list(range(self.vcpus)), str(cpus))
            else:
                cpus = qmp.execute("query-cpus-fast")
                check("query-cpus-fast: a host thread per vCPU", len(cpus) == self.vcpus)
            if console:
                self.guest_boot(console)
            self.block_hotplug(qmp, console)
            self.net_hotplug(qmp, console, tap1)
            if self.vsock and console:
                self.guest_check(console, "vsock device", "for d in /sys/bus/virtio/devices/*; do "
                                 "[ \"$(cat $d/device)\" = 0x0013 ] && echo KATA-VSOCK-DEVICE; done",
                                 r"KATA-VSOCK-DEVICE", "the guest has a virtio-vsock device")
            if self.fs and console:
                self.guest_check(console, "virtio-fs", "for m in fuse virtiofs; do [ -f /lib/modules/$m.ko ] && "
                                 "insmod /lib/modules/$m.ko; done 2>/dev/null; mkdir -p /mnt/fs && mount -t virtiofs "
                                 "kataShared /mnt/fs && echo \"KATA-FS $(cat /mnt/fs/hello.txt)\"",
                                 r"KATA-FS hello-from-the-host", "the guest mounts kataShared and reads a host file")
            # quit (StopVM would SIGKILL): SHUTDOWN, the reply, the process ends with 0.
            qmp.execute("quit")
            try:
                while not any(e["event"] == "SHUTDOWN" for e in qmp.events):
                    qmp.events.append(json.loads(qmp.readline()))
            except (EOFError, OSError, ValueError):
                pass
            shutdown = [e for e in qmp.events if e.get("event") == "SHUTDOWN"]
            check("quit: SHUTDOWN {guest: false, reason: host-qmp-quit}",
                  bool(shutdown) and shutdown[0].get("data") == {"guest": False, "reason": "host-qmp-quit"},
                  str(shutdown))
            qmp.close()
            rc = self.proc.wait(timeout=60)
            check(f"the VMM exits with 0 after quit (got {rc})", rc == 0)
        finally:
            if self.proc and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if tap_fd is not None:
                os.close(tap_fd)
            if virtiofsd:
                virtiofsd.kill()
            for t in self.tap_names:
                delete_tap(t)

    def guest(self, console, script, marker, timeout=90):
        """Types a command line into the guest's shell and waits for its marker (anywhere in a line: the shell's
        prompt comes first). The markers it echoes are written so that the shell's echo of the typed line does not
        show them: KATA''-X and "KATA""-X print KATA-X."""
        console.type(script.replace("echo KATA-", "echo KATA''-").replace('echo "KATA-', 'echo "KATA""-'))
        return console.wait(marker, timeout)

    def guest_check(self, console, _name, script, marker, what, timeout=90):
        return check(what, self.guest(console, script, marker, timeout) is not None)

    def guest_boot(self, console):
        m = console.wait(r"^GUEST-SHELL", 300)
        check("the guest's shell is up on the debug console (console=hvc0 on VM/console.socket)", m is not None)
        if m is None:
            raise QmpError("no guest shell on the console")
        console.type("stty -echo 2>/dev/null")
        self.guest_check(console, "eth0", "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && "
                         "ping -c 2 -W 5 10.0.2.1 >/dev/null && echo \"KATA-NET0-PING-OK $(cat "
                         "/sys/class/net/eth0/address)\"",
                         rf"KATA-NET0-PING-OK {re.escape(self.a.mac)}",
                         "the endpoint's NIC (fds=3, a TAP with IFF_VNET_HDR) has the MAC and pings the host")

    def block_hotplug(self, qmp, console):
        a = self.a
        drive_id = ("drive-" + "9b2f6c1e0d4a8b7c3e5f1a2d6c9b0e4f")[:31]  # utils.MakeNameID("drive", id, 31)
        image = a.disk
        is_regular = os.path.isfile(image) and not os.path.islink(image)
        blockdev = {"driver": "raw", "read-only": False,
                    "file": {"driver": "file" if is_regular else "host_device", "filename": image, "aio": "native"},
                    "node-name": drive_id}
        if not self.mesovirt:
            blockdev["cache"] = {"direct": True, "no-flush": False}  # QEMU_SUBSTITUTIONS["blockdev-add"]
        qmp.execute("blockdev-add", blockdev)
        check(f"blockdev-add {blockdev['file']['driver']} aio=native", True)
        slot = ord("b") - ord("a")  # setupMmioSlot("/dev/vdb"): vdb -> 1
        check("the mmio slot of /dev/vdb is below maxMmioBlkCount", slot < MAX_MMIO_BLK_COUNT)
        args = {"id": drive_id, "driver": "virtio-blk-mmio", "drive": drive_id, "addr": str(slot), "romfile": ""}
        if not self.mesovirt:
            driver, bus, addr = QEMU_SUBSTITUTIONS["virtio-blk-mmio"]
            args.update(driver=driver, bus=bus, addr=addr)
        if self.logical_sector > 0:
            args["logical_block_size"] = self.logical_sector
        if self.physical_sector > 0:
            args["physical_block_size"] = self.physical_sector
        if console:  # (the guest's console is Mesovirt's run only)
            # Kata's agent (virtio_mmio_blk handler) waits for a uevent only if the vm_path it is given is missing:
            # StratoVirt's replaceable slot has /dev/vdb from boot, a disk of no sectors until device_add.
            self.guest_check(console, "vdb", "[ -b /dev/vdb ] && echo \"KATA-VDB-BEFORE $(cat /sys/block/vdb/size)\"",
                             r"KATA-VDB-BEFORE 0", "/dev/vdb exists before device_add, with no sectors")
        qmp.execute("device_add", args)
        check(f"device_add {args['driver']} addr={args['addr']} romfile=\"\" logical/physical_block_size", True)
        if console:
            # What Kata's agent does: the path exists, so use it (no probing, no uevent). The sector sizes are the
            # ones probed at boot, as under StratoVirt (README), not the requested logical/physical_block_size.
            sizes = (512, 512)
            # The guest learns the new size from a config-change interrupt that device_add's return does not wait
            # for: a read racing it saw the empty drive once (CI); wait up to 5 s for the size, then read.
            self.guest_check(console, "disk", "i=0; while [ \"$(cat /sys/block/vdb/size)\" = 0 ] && [ $i -lt 50 ]; do "
                             "sleep 0.1; i=$((i+1)); done; "
                             "for b in /sys/block/vdb; do [ \"$(head -c 24 /dev/${b##*/})\" = KATA-HOTPLUG-PATTERN-01 ] "
                             "&& echo \"KATA-DISK ${b##*/} $(cat $b/queue/logical_block_size) "
                             "$(cat $b/queue/physical_block_size)\" && echo KATA-WROTE-IN-THE-GUEST | "
                             "dd of=/dev/${b##*/} bs=4096 seek=8 conv=fsync 2>/dev/null && echo KATA-DISK-WRITE-OK; "
                             "done",
                             r"KATA-DISK-WRITE-OK", "the guest reads the hot-plugged disk and writes it (O_DIRECT)")
            m = console.wait(r"KATA-DISK (vd[a-z]+) (\d+) (\d+)", 5)
            check(f"the guest's disk is /dev/vdb with {sizes[0]}/{sizes[1]} byte sectors", m is not None
                  and (int(m.group(2)), int(m.group(3))) == sizes and m.group(1) == "vdb",
                  m.group(0) if m else "no KATA-DISK line")
            with open(image, "rb") as f:
                f.seek(8 * 4096)
                check("the guest's write reached the host's disk", f.read(23) == b"KATA-WROTE-IN-THE-GUEST")
        t = time.time()
        qmp.execute("device_del", {"id": drive_id}, event=("DEVICE_DELETED", "device", drive_id))
        check(f"device_del returned once DEVICE_DELETED for {drive_id} came ({time.time() - t:.1f} s)", True)
        qmp.execute("blockdev-del", {"node-name": drive_id})
        check("blockdev-del", True)
        if console:
            self.guest_check(console, "vdb", "sleep 1; echo \"KATA-VDB-AFTER $(cat /sys/block/vdb/size)\"",
                             r"KATA-VDB-AFTER 0", "after device_del /dev/vdb is an empty drive again")

    def net_hotplug(self, qmp, console, tap):
        """qemu.go's hotplugNetDevice with govmm's requests: getfd fd0, netdev_add by fds, device_add, then
        device_del and netdev_del."""
        fd = open_kata_tap(tap, "10.0.3.1/24")
        self.tap_names.append(tap)
        try:
            qmp.execute("getfd", {"fdname": "fd0"}, fds=[fd])
        finally:
            os.close(fd)
        qmp.execute("netdev_add", {"fds": "fd0", "id": tap, "type": "tap"})
        dev_id = "virtio-" + tap
        mac = "02:42:0a:00:03:0f"
        args = {"id": dev_id, "driver": "virtio-net-mmio", "romfile": "", "addr": "1", "mac": mac, "netdev": tap,
                "mq": True, "vectors": 2 * self.vcpus + 2}
        if not self.mesovirt:
            driver, bus, addr = QEMU_SUBSTITUTIONS["virtio-net-mmio"]
            args.update(driver=driver, bus=bus, addr=addr)
        qmp.execute("device_add", args)
        check(f"getfd + netdev_add fds=fd0 + device_add {args['driver']} (mq, vectors, romfile)", True)
        if console:
            self.guest_check(console, "eth1", BIND_SLOTS + "ip link set eth1 up && ip addr add 10.0.3.15/24 dev eth1 && ping -c 2 -W 5 10.0.3.1 "
                             ">/dev/null && echo \"KATA-NET1-PING-OK $(cat /sys/class/net/eth1/address)\"",
                             rf"KATA-NET1-PING-OK {re.escape(mac)}",
                             "the hot-plugged NIC (a passed IFF_VNET_HDR TAP) has its MAC and pings the host")
            self.guest_check(console, "unbind", "for d in /sys/bus/platform/drivers/virtio-mmio/LNRO0005:*; do "
                             "[ -e $d/virtio*/net/eth1 ] && echo ${d##*/} > /sys/bus/platform/drivers/virtio-mmio/"
                             "unbind && echo KATA-NET1-UNBOUND; done", r"KATA-NET1-UNBOUND",
                             "the guest lets the NIC go")
        qmp.execute("device_del", {"id": dev_id}, event=("DEVICE_DELETED", "device", dev_id))
        qmp.execute("netdev_del", {"id": tap})
        check("device_del (DEVICE_DELETED) + netdev_del of the NIC", True)

    def start_virtiofsd(self):
        """virtiofsd.go's Start: Kata listens on the socket itself and passes it as --fd=3."""
        shared = os.path.join(self.a.work, "shared")
        os.makedirs(shared, exist_ok=True)
        with open(os.path.join(shared, "hello.txt"), "w") as f:
            f.write("hello-from-the-host\n")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(self.fs_sock)
        listener.listen(1)
        binary = os.environ.get("MESOVIRT_KATA_VIRTIOFSD")
        if binary is None:
            binary = "/usr/libexec/virtiofsd" if os.path.exists("/usr/libexec/virtiofsd") else C_VIRTIOFSD
        if binary == C_VIRTIOFSD:
            # QEMU 7.2's C virtiofsd (what Debian 12 ships) spells Kata's options its own way; no syslog in the
            # emulated host, so its log goes to the file below.
            args = [binary, "--fd=3", "-o", f"source={shared}", "-o", "cache=auto", "-o", "sandbox=chroot",
                    "--thread-pool-size=1"]
        else:
            args = [binary, "--syslog", "--cache=auto", f"--shared-dir={shared}", "--fd=3", "--thread-pool-size=1",
                    "--announce-submounts"]
        proc = spawn(args, [listener.fileno()], dict(os.environ), os.devnull,
                     os.path.join(self.a.work, "virtiofsd.log"))
        listener.close()
        return proc


C_VIRTIOFSD = "/usr/lib/qemu/virtiofsd"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", choices=["mesovirt", "qemu"], required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--disk", required=True, help="the disk to hot-plug (a block device, or an image file)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--mac", default="02:42:0a:00:02:0f")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    print(f"=== kata-driver against {a.vmm} ({a.bin})", flush=True)
    try:
        Kata(a).run()
    except (QmpError, OSError, EOFError, subprocess.SubprocessError, ValueError) as e:
        check(f"the session ran to its end ({type(e).__name__}: {e})", False)
    failed = sum(1 for _, ok in CHECKS if not ok)
    print(f"kata-driver: {len(CHECKS)} checks, {failed} failed", flush=True)
    return 0 if failed == 0 and CHECKS else 1


if __name__ == "__main__":
    sys.exit(main())
