#!/usr/bin/env python3
"""Mesovirt's QMP replies against QEMU's, natively on this machine's /dev/kvm.

Starts `mesovirt -qmp` and `qemu-system-x86_64 -M microvm -accel kvm -qmp` with the same kernel and the test initramfs
told to idle (guest.sleep: where KVM boots Linux the guest stays up for the whole test; on kvm_pvm it stalls early,
but both VMMs are fully up and answer QMP all the same), sends both the same commands, and compares
the replies' shapes: the keys and JSON types, recursively (list elements against the first element), not the values.
Also checks Mesovirt's own behaviour end to end through the real process: stop/cont states and events,
blockdev-add + device_add into a hot-plug slot, query-block, device_del with DEVICE_DELETED, blockdev-del, a TAP
passed with getfd (SCM_RIGHTS) to netdev_add fd= and device_add (compared with QEMU too, and followed in the
process's /proc/PID/fd), and quit with a SHUTDOWN event, exit code 0 and the socket removed.

usage: ci/tests/qmp-compare.py MESOVIRT KERNEL INITRD     Prints each difference; exit status 0 when every difference is an
expected one (listed in EXPECTED below, each with the reason) and every behaviour check passed.
"""
import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

# Differences we know of and keep, with why: (command, path, what).
EXPECTED = {
    # QEMU 7.2 advertises out-of-band execution; Mesovirt runs every command in band.
    ("greeting", "QMP.capabilities[]", "missing in mesovirt"): "no OOB capability",
    # QEMU's microvm does not enable CPU hot-plug queries; StratoVirt answers them, and so does Mesovirt.
    ("query-hotpluggable-cpus", "", "error vs return"): "StratoVirt's command, answered",
    # query-events was removed from QEMU 6.0 (query-qmp-schema replaces it); StratoVirt keeps it.
    ("query-events", "", "error vs return"): "StratoVirt's command, answered",
    # QEMU lists its many machine types with an optional "alias"; Mesovirt has one (microvm) and marks it default.
    ("query-machines", "return[].is-default", "missing in qemu"): "is-default is optional in QEMU's schema",
    ("query-machines", "return[].alias", "missing in mesovirt"): "alias is optional in QEMU's schema",
    # QEMU's query-block has more optional members (throttling, blockdev stats) than Mesovirt fills in.
    ("query-block", "*", "missing in mesovirt"): "optional BlockInfo members not reported",
    # QEMU's microvm has virtio-mmio buses that take no hot-plugged device ("Bus 'virtio-mmio-bus.N' does not
    # support hotplugging"); Mesovirt's replaceable slots do (StratoVirt's model).
    ("device_add virtio-net (fd)", "", "error vs return"): "QEMU microvm cannot hot-plug virtio-mmio devices",
}

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000

COMMANDS = ["query-status", "query-cpus-fast", "query-hotpluggable-cpus", "query-version", "query-target",
            "query-kvm", "query-machines", "query-chardev", "query-events", "query-commands", "query-block",
            '{"execute":"no-such-command"}', '{"execute":"stop","arguments":{"bogus":1}}', "[1]", '{"foo":1}',
            '{"execute":1}', '{"execute":"device_del","arguments":{"id":"nothing"}}',
            '{"execute":"query-status","id":{"a":[1,"x"]}}', '{"execute":"qmp_capabilities"}', '{"execute": bad}']


class Qmp:
    # Generous: in the emulated x86_64 host (software emulation) the JVM alone takes seconds to start.
    def __init__(self, path, timeout=90):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(60)
        self.file = self.sock.makefile("rwb")
        self.events = []
        self.greeting = self.read()

    def read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("connection closed")
        return json.loads(line)

    def send(self, text):
        """Sends raw text; returns the reply, collecting events that come first."""
        self.file.write(text.encode() + b"\n")
        self.file.flush()
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        return self.send(json.dumps(req))

    def cmd_with_fds(self, fds, name, **args):
        """Sends a command in one sendmsg with the descriptors (SCM_RIGHTS); returns its reply."""
        req = {"execute": name, "arguments": args}
        socket.send_fds(self.sock, [json.dumps(req).encode() + b"\n"], fds)
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m)
                continue
            return m


def open_tap():
    """A new non-persistent TAP (gone with its last descriptor), as a manager would hand one to a VMM."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", b"mvqfd%d", IFF_TAP | IFF_NO_PI))
    return fd


def tun_fds(pid):
    """How many of process pid's descriptors are TUN/TAP ones."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/net/tun"
        except OSError:
            pass
    return n


def shape(v):
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def diff(a, b, path, out):
    """Differences between shapes a (mesovirt) and b (qemu)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}.{k}" if path else k
            if k not in a:
                out.append((p, "missing in mesovirt"))
            elif k not in b:
                out.append((p, "missing in qemu"))
            else:
                diff(a[k], b[k], p, out)
    elif isinstance(a, list) and isinstance(b, list):
        if a and b:
            diff(a[0], b[0], path + "[]", out)
        elif a != b:
            out.append((path + "[]", "missing in " + ("mesovirt" if not a else "qemu")))
    elif a != b:
        out.append((path, f"type {a} vs {b}"))


def expected(cmd, path, what):
    return (cmd, path, what) in EXPECTED or (cmd, "*", what) in EXPECTED


def main():
    mesovirt, kernel, initrd = sys.argv[1], sys.argv[2], sys.argv[3]
    # The guest idles (ci/guest/init.sh's guest.sleep) rather than panicking without a root file system.
    guest = ["-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 quiet guest.sleep=3600"]
    work = tempfile.mkdtemp(prefix="qmp-compare.")
    msock, qsock = os.path.join(work, "m.sock"), os.path.join(work, "q.sock")
    mproc = subprocess.Popen([mesovirt, *guest, "-m", "256", "-smp", "2", "-serial", "none",
                              "-qmp", f"unix:{msock},server,nowait"], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(work, "mesovirt.log"), "w"))
    # -arch-capabilities: on some kvm_pvm machines KVM lists MSR_IA32_ARCH_CAPABILITIES (0x10a) but refuses QEMU's
    # write of it, and QEMU aborts at its first vCPU reset ("failed to set MSR 0x10a"). Hiding the CPUID bit changes
    # nothing QMP shows.
    qproc = subprocess.Popen(["qemu-system-x86_64", "-M", "microvm", "-accel", "kvm", "-cpu", "host,-arch-capabilities", "-m", "256",
                              "-smp", "2", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "null",
                              *guest, "-qmp", f"unix:{qsock},server,nowait"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    unexpected = []

    def check(what, ok):
        print(("  ok: " if ok else "  FAILED: ") + what)
        if not ok:
            failures.append(what)

    try:
        m, q = Qmp(msock), Qmp(qsock)
        check("socket mode 0600", oct(os.stat(msock).st_mode & 0o777) == "0o600")
        d = []
        diff(shape(m.greeting), shape(q.greeting), "", d)
        for path, what in d:
            print(f"  greeting: {path}: {what}" + ("  (expected)" if expected("greeting", path, what) else ""))
            if not expected("greeting", path, what):
                unexpected.append(("greeting", path, what))
        before = m.cmd("query-status")
        check("a command before qmp_capabilities is refused as QEMU does",
              before.get("error", {}).get("desc") == "Expecting capabilities negotiation with 'qmp_capabilities'")
        q.cmd("query-status")
        m.cmd("qmp_capabilities")
        q.cmd("qmp_capabilities")
        # Both VMMs running their vCPUs: QMP answers while the machine is still being built (prelaunch), which takes
        # seconds under software emulation.
        for name, vmm in (("mesovirt", m), ("qemu", q)):
            deadline = time.time() + 120
            while vmm.cmd("query-status").get("return", {}).get("status") != "running":
                if time.time() > deadline:
                    raise TimeoutError(f"{name} not running after 120 s")
                time.sleep(0.2)
        def compare(key, rm, rq, same_desc=False):
            """Prints how the two replies to request KEY differ in shape (and error text with same_desc); records
            the differences EXPECTED does not list."""
            d = []
            if ("return" in rm) != ("return" in rq):
                d.append(("", "error vs return" if "error" in rm or "error" in rq else "reply kinds differ"))
            else:
                diff(shape(rm), shape(rq), "", d)
                if "error" in rm and rm["error"]["class"] != rq["error"]["class"]:
                    d.append(("error.class", f"{rm['error']['class']} vs {rq['error']['class']}"))
                if same_desc and "error" in rm and rm["error"]["desc"] != rq["error"]["desc"]:
                    d.append(("error.desc", f"{rm['error']['desc']!r} vs {rq['error']['desc']!r}"))
            print(f"  {key[:60]}: " + ("same" + (" error" if same_desc and "error" in rm else " shape") if not d
                                    else "; ".join(f"{p or '(reply)'}: {w}" for p, w in d)))
            for p, w in d:
                if expected(key, p, w):
                    print(f"      expected: {EXPECTED.get((key, p, w)) or EXPECTED.get((key, '*', w))}")
                else:
                    unexpected.append((key, p, w))
                    print(f"      mesovirt: {json.dumps(rm)[:300]}\n      qemu:     {json.dumps(rq)[:300]}")

        for c in COMMANDS:
            text = c if c[0] in "{[" else json.dumps({"execute": c})
            compare(c, m.send(text), q.send(text))

        # Mesovirt's behaviour, end to end.
        check("stop: paused", "return" in m.cmd("stop") and m.cmd("query-status")["return"]["status"] == "paused")
        check("STOP event", any(e["event"] == "STOP" for e in m.events))
        check("cont: running", "return" in m.cmd("cont") and m.cmd("query-status")["return"]["running"] is True)
        check("RESUME event with a timestamp", any(e["event"] == "RESUME" and "seconds" in e["timestamp"]
                                                   for e in m.events))
        img = os.path.join(work, "hot.img")
        with open(img, "wb") as f:
            f.truncate(1 << 20)
        r = m.cmd("blockdev-add", **{"node-name": "drive-0", "file": {"driver": "file", "filename": img},
                                     "cache": {"direct": False}, "read-only": False})
        check("blockdev-add", "return" in r)
        check("blockdev-add of a duplicate node-name fails", "error" in m.cmd(
            "blockdev-add", **{"node-name": "drive-0", "file": {"driver": "file", "filename": img}}))
        check("blockdev-add of a missing file fails", "error" in m.cmd(
            "blockdev-add", **{"node-name": "drive-x", "file": {"driver": "file", "filename": img + ".none"}}))
        r = m.cmd("device_add", id="drive-0", driver="virtio-blk-mmio", drive="drive-0", addr="0x0")
        check("device_add virtio-blk-mmio addr=0x0", "return" in r)
        r = m.cmd("device_add", id="drive-1", driver="virtio-blk-mmio", drive="drive-0", addr="0x1")
        check("a drive in use cannot be added twice", "error" in r)
        r = m.cmd("device_add", id="x", driver="virtio-blk-mmio", drive="drive-0", addr="0x9")
        check("a slot that does not exist is refused", "error" in r)
        blocks = m.cmd("query-block")["return"]
        check("query-block shows the drive on its device",
              any(b["device"] == "drive-0" and b["qdev"] == "drive-0" for b in blocks))
        check("blockdev-del of an attached drive fails", "error" in m.cmd("blockdev-del", **{"node-name": "drive-0"}))
        r = m.cmd("device_del", id="drive-0")
        check("device_del", "return" in r)
        check("DEVICE_DELETED event", any(e["event"] == "DEVICE_DELETED" and e["data"]["device"] == "drive-0"
                                          for e in m.events))
        check("blockdev-del", "return" in m.cmd("blockdev-del", **{"node-name": "drive-0"}))
        check("query-block no longer shows it", not any(b["device"] == "drive-0" for b in m.cmd("query-block")["return"]))
        check("device_del of a device already removed: DeviceNotFound",
              m.cmd("device_del", id="drive-0").get("error", {}).get("class") == "DeviceNotFound")
        # A TAP passed as a descriptor (getfd over SCM_RIGHTS, then netdev_add fd=), to both VMMs.
        compare("getfd without a descriptor", m.cmd("getfd", fdname="tapfd"), q.cmd("getfd", fdname="tapfd"), True)
        compare("closefd of an unknown name", m.cmd("closefd", fdname="nope"), q.cmd("closefd", fdname="nope"), True)
        mtap, qtap = open_tap(), open_tap()
        try:
            tuns = tun_fds(mproc.pid)
            compare("getfd with a TAP descriptor", m.cmd_with_fds([mtap], "getfd", fdname="tapfd"),
                    q.cmd_with_fds([qtap], "getfd", fdname="tapfd"))
            check("the TAP descriptor arrived in mesovirt", tun_fds(mproc.pid) == tuns + 1)
        finally:
            os.close(mtap)  # each VMM holds its own copy now
            os.close(qtap)
        compare("netdev_add type=tap fd=tapfd",
                m.cmd("netdev_add", type="tap", id="netfd0", fd="tapfd"),
                q.cmd("netdev_add", type="tap", id="netfd0", fd="tapfd"))
        compare("netdev_add fd= of a name already taken",
                m.cmd("netdev_add", type="tap", id="netfd1", fd="tapfd"),
                q.cmd("netdev_add", type="tap", id="netfd1", fd="tapfd"), True)
        compare("device_add virtio-net (fd)",
                m.cmd("device_add", driver="virtio-net-mmio", id="netfd0", netdev="netfd0", addr="0x0"),
                q.cmd("device_add", driver="virtio-net-device", id="netfd0", netdev="netfd0"))
        check("mesovirt: the NIC has its own descriptor of the passed TAP", tun_fds(mproc.pid) == tuns + 2)
        check("mesovirt: a netdev in use cannot be used by a second NIC", "error" in m.cmd(
            "device_add", driver="virtio-net-mmio", id="netfd9", netdev="netfd0", addr="0x1"))
        check("mesovirt: device_del of the NIC on the passed TAP", "return" in m.cmd("device_del", id="netfd0"))
        check("mesovirt: the NIC's descriptor closed, the netdev's kept", tun_fds(mproc.pid) == tuns + 1)
        check("mesovirt: netdev_del", "return" in m.cmd("netdev_del", id="netfd0"))
        check("mesovirt: netdev_del closed the passed TAP", tun_fds(mproc.pid) == tuns)
        sock_fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
        try:
            check("mesovirt: getfd then netdev_add fd= of a descriptor that is not a TAP fails clearly",
                  "return" in m.cmd_with_fds([sock_fd], "getfd", fdname="dirfd")
                  and "TUNGETIFF" in m.cmd("netdev_add", type="tap", id="netfd2", fd="dirfd")
                  .get("error", {}).get("desc", ""))
        finally:
            os.close(sock_fd)
        check("mesovirt: netdev_add fd=NUMBER is refused", "error" in m.cmd("netdev_add", type="tap", id="netfd3",
                                                                           fd="3"))

        # A TAP for the net hot-plug slot (root only; the emulated-host tests use one the same way).
        tap = "mvqmp%d" % (os.getpid() % 10000)
        made = subprocess.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"], capture_output=True).returncode == 0
        check(f"ip tuntap add {tap}", made)
        if made:
            check("netdev_add", "return" in m.cmd("netdev_add", id="net-0", ifname=tap))
            check("netdev_add of a duplicate id fails", "error" in m.cmd("netdev_add", id="net-0", ifname=tap))
            r = m.cmd("device_add", id="net-0", driver="virtio-net-mmio", netdev="net-0", addr="0x0",
                      mac="52:54:00:12:34:56")
            check("device_add virtio-net-mmio addr=0x0", "return" in r)
            check("netdev_del of a netdev in use fails", "error" in m.cmd("netdev_del", id="net-0"))
            check("device_del of the NIC", "return" in m.cmd("device_del", id="net-0"))
            check("netdev_del", "return" in m.cmd("netdev_del", id="net-0"))
            # The TAP fd was closed on unplug: the interface can be re-attached at once.
            check("the TAP is free again: netdev_add + device_add succeed a second time",
                  "return" in m.cmd("netdev_add", id="net-1", ifname=tap)
                  and "return" in m.cmd("device_add", id="net-1", driver="virtio-net-mmio", netdev="net-1",
                                        addr="0x1"))
        r = m.cmd("quit")
        check("quit", "return" in r)
        try:
            while not any(e["event"] == "SHUTDOWN" for e in m.events):
                msg = m.read()
                if "event" in msg:
                    m.events.append(msg)
        except (EOFError, OSError):
            pass
        shutdown = [e for e in m.events if e["event"] == "SHUTDOWN"]
        check("SHUTDOWN event {guest: false, reason: host-qmp-quit}",
              bool(shutdown) and shutdown[0]["data"] == {"guest": False, "reason": "host-qmp-quit"})
        rc = mproc.wait(timeout=20)
        check(f"mesovirt exit code 0 after quit (got {rc})", rc == 0)
        check("the socket file is gone", not os.path.exists(msock))
    finally:
        for p in (mproc, qproc):
            if p.poll() is None:
                p.kill()
        subprocess.run(["ip", "tuntap", "del", "dev", "mvqmp%d" % (os.getpid() % 10000), "mode", "tap"],
                       capture_output=True)
    for u in unexpected:
        print(f"  UNEXPECTED DIFFERENCE: {u}")
    if failures or unexpected:
        print(f"qmp-compare: {len(failures)} failed checks, {len(unexpected)} unexpected differences; "
              f"mesovirt log: {os.path.join(work, 'mesovirt.log')}")
        return 1
    print("qmp-compare: all checks passed, no unexpected differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
