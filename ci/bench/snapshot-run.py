#!/usr/bin/env python3
"""One round of ci/bench/snapshot-bench.sh for one VMM (Mesovirt or QEMU), run inside the emulated x86_64 KVM host.

Boots the guest (the test initramfs with guest.shell=1) with its serial console on stdio and QMP on a unix socket,
starts a ticker in the guest's shell (a "TICK n uptime" line every TICK_PERIOD s), and right after a tick: `stop`.
Then `migrate` to SNAPSHOT_URI, timed from sending it to the `query-migrate` reply that says "completed" (polled
every 10 ms; Mesovirt's migrate returns once the snapshot is written, QEMU's runs in the background), and `quit`.
Then the same command line with `-incoming INCOMING`, timed from starting the process to the guest's next TICK line
(the restored guest resumes inside the ticker's sleep, which it had just begun: the figure includes up to one
period). The restored guest must answer serial input (`echo ANSWER-$((6 * 7))` -> ANSWER-42, timed from typing it right
after the first tick: pages a lazy restore has not read yet are read then) and power off when its shell exits (GUEST-DONE, the VMM
exits 0).
--qemu: QEMU's own steps, as its users take them. Before migrate, `migrate-set-parameters` max-bandwidth to 1 TiB/s
(unthrottled, as libvirt's save to a file does; the default is 128 MiB/s). After the restore's start (its source
was paused, so the restored VM waits paused) it connects to QMP as soon as the socket answers, polls query-status
every 20 ms while it says "inmigrate" and sends `cont`, which is part of the restore's figure.

usage: snapshot-run.py [--qemu] WORK SNAPSHOT_URI INCOMING VMM-ARGS...
  WORK: a directory for the consoles (boot.log, restore.log) and the QMP sockets. The driver adds
  -qmp unix:WORK/NAME.sock,server,nowait to VMM-ARGS (both VMMs take this form), and -incoming INCOMING to restore.
Prints one line "RESULT snapshot_s=S restore_s=S ..." and exits 0, or prints why and the console's end and exits 1.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

TICK_PERIOD = "0.2"
BOOT_TIMEOUT = 400  # seconds to the guest's shell: a boot under nested TCG takes 10-40 s, more on a loaded machine
STEP_TIMEOUT = 120


class Console:
    """The VMM's stdout+stderr, line by line, each with the monotonic time it arrived, also written to a log."""

    def __init__(self, proc, log):
        self.proc, self.lines, self.cond = proc, [], threading.Condition()
        self.log = open(log, "w", encoding="utf-8", errors="replace")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").replace("\r", "").rstrip("\n")
            now = time.monotonic()
            self.log.write(line + "\n")
            self.log.flush()
            with self.cond:
                self.lines.append((now, line))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.monotonic(), None))  # end of output
            self.cond.notify_all()

    def wait(self, match, timeout, start=0):
        """The first (time, line, index) from index start on for which match(line) is true; raises on timeout/EOF."""
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    t, line = self.lines[i]
                    if line is None:
                        raise RuntimeError("the VMM's output ended (exit %s)" % self.proc.poll())
                    if match(line):
                        return t, line, i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("timed out after %d s" % timeout)
                self.cond.wait(left)

    def count(self):
        with self.cond:
            return len(self.lines)

    def tail(self, n=30):
        with self.cond:
            return [line for _, line in self.lines[-n:] if line is not None]


def tick_number(line):
    """n of a line "...TICK n uptime" (the ticker's lines can land in the middle of the shell's), else None."""
    at = line.rfind("TICK ")
    if at < 0:
        return None
    words = line[at:].split()
    return int(words[1]) if len(words) >= 3 and words[1].isdigit() else None


class Qmp:
    def __init__(self, path, timeout, poll=0.02):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise RuntimeError("no QMP on %s after %d s" % (path, timeout))
                time.sleep(poll)
        self.sock.settimeout(STEP_TIMEOUT)
        self.file = self.sock.makefile("rwb")
        self.read()  # the greeting
        self.cmd("qmp_capabilities")

    def read(self):
        line = self.file.readline()
        if not line:
            raise RuntimeError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.file.write(json.dumps(req).encode() + b"\n")
        self.file.flush()
        while True:
            m = self.read()
            if "event" in m:
                continue
            if "error" in m:
                raise RuntimeError("%s: %s" % (name, m["error"]))
            return m.get("return")

    def close(self):
        self.sock.close()


def start(args, work, name, extra=()):
    sock = os.path.join(work, name + ".sock")
    proc = subprocess.Popen(list(args) + ["-qmp", "unix:%s,server,nowait" % sock] + list(extra),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, Console(proc, os.path.join(work, name + ".log")), sock


def type_in(proc, text):
    proc.stdin.write(text.encode() + b"\n")
    proc.stdin.flush()


def finish(proc, timeout):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("the VMM did not exit within %d s" % timeout)


def run(qemu, work, snapshot_uri, incoming, args):
    # --- the template: boot, ticker, stop right after a tick, migrate, quit
    stage = "boot"
    proc, con, sock = start(args, work, "boot")
    try:
        con.wait(lambda l: l.startswith("GUEST-SHELL"), BOOT_TIMEOUT)
        time.sleep(1)  # the shell's prompt
        type_in(proc, '(i=0; while :; do i=$((i+1)); read u r < /proc/uptime; echo "TICK $i $u"; sleep %s; done) &'
                % TICK_PERIOD)
        stage = "ticker"
        con.wait(lambda l: (tick_number(l) or 0) >= 5, STEP_TIMEOUT)
        qmp = Qmp(sock, STEP_TIMEOUT)
        stage = "stop"
        _, line, _ = con.wait(lambda l: tick_number(l) is not None, STEP_TIMEOUT, con.count())
        qmp.cmd("stop")
        time.sleep(0.5)  # console bytes already on their way
        last = max(tick_number(l) or 0 for l in con.tail(50))
        stage = "snapshot"
        if qemu:
            qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        t0 = time.monotonic()
        qmp.cmd("migrate", uri=snapshot_uri)
        while True:
            status = (qmp.cmd("query-migrate") or {}).get("status")
            if status == "completed":
                break
            if status in ("failed", "cancelled", None):
                raise RuntimeError("query-migrate: %s" % status)
            time.sleep(0.01)
        snapshot_s = time.monotonic() - t0
        stage = "quit"
        qmp.cmd("quit")
        qmp.close()
        proc.stdin.close()
        finish(proc, STEP_TIMEOUT)
    except (RuntimeError, OSError, ValueError) as e:
        proc.kill()
        fail(stage, e, con)

    # --- the restore: start, (cont), next tick, serial input, power-off
    stage = "restore"
    t0 = time.monotonic()
    proc, con, sock = start(args, work, "restore", ["-incoming", incoming])
    try:
        incoming_s = cont_s = ""
        if qemu:
            qmp = Qmp(sock, STEP_TIMEOUT)
            while True:
                status = (qmp.cmd("query-status") or {}).get("status")
                if status != "inmigrate":
                    break
                time.sleep(0.02)
            incoming_s = "%.3f" % (time.monotonic() - t0)
            if status == "paused":
                qmp.cmd("cont")
                cont_s = "%.3f" % (time.monotonic() - t0)
            elif status != "running":
                raise RuntimeError("after the incoming migration the VM is %s" % status)
            qmp.close()
        t_tick, line, _ = con.wait(lambda l: tick_number(l) is not None, STEP_TIMEOUT)
        restore_s = t_tick - t0
        first = tick_number(line)
        if first <= last:
            raise RuntimeError("the restored guest's first tick is %d, the template's last was %d" % (first, last))
        stage = "serial input"
        t1 = time.monotonic()
        type_in(proc, "echo ANSWER-$((6 * 7))")
        t_answer, _, _ = con.wait(lambda l: "ANSWER-42" in l, STEP_TIMEOUT)
        stage = "power-off"
        type_in(proc, "exit")
        con.wait(lambda l: l.startswith("GUEST-DONE"), STEP_TIMEOUT)
        proc.stdin.close()
        rc = finish(proc, STEP_TIMEOUT)
        if rc != 0:
            raise RuntimeError("the restored VMM exited %d" % rc)
    except (RuntimeError, OSError, ValueError) as e:
        proc.kill()
        fail(stage, e, con)
    print("RESULT snapshot_s=%.3f restore_s=%.3f last_tick=%d first_tick=%d answer_s=%.3f incoming_s=%s cont_s=%s"
          % (snapshot_s, restore_s, last, first, t_answer - t1, incoming_s or "-", cont_s or "-"), flush=True)


def fail(stage, error, con):
    print("snapshot-run: %s: %s" % (stage, error), flush=True)
    for line in con.tail():
        print("    | " + line)
    sys.exit(1)


def main(argv):
    qemu = argv[:1] == ["--qemu"]
    if qemu:
        argv = argv[1:]
    if len(argv) < 4:
        print(__doc__.split("usage: ")[1].split("\n")[0], file=sys.stderr)
        sys.exit(2)
    run(qemu, argv[0], argv[1], argv[2], argv[3:])


if __name__ == "__main__":
    main(sys.argv[1:])
