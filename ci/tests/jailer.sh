#!/bin/bash
# The jailer (bin/mesovirt-jailer) with a real guest, inside the emulated x86_64 KVM host. Two guest boots (jailed,
# sigterm) and two paused VMMs (daemonize).
#   jailed   the VMM under the jailer (cgroup limits, a network namespace by path, --resource-limit no-file and fsize,
#            a disk, an entropy source, virtio-net on a TAP descriptor and vhost-vsock on a /dev/vhost-vsock
#            descriptor that the test opened and passed: fds=7, vhostfd=8) boots the cloud kernel; seen from outside
#            while the guest runs: the VMM's mount, PID, IPC and UTS namespaces differ from ours and its network
#            namespace is the one given; its root is the jail directory (only the jail's entries: no /etc, the kernel
#            at /vm/..., no /dev/net/tun and no /dev/vhost-vsock: the passed descriptors are the only way to them);
#            Uid/Gid 1000; CapEff, CapPrm, CapBnd 0; NoNewPrivs 1; Seccomp 2 (the VMM's filter;
#            MESOVIRT_JAILER_EXPECT_SECCOMP=0 skips this one check); its cgroup is mesovirt/vm1 with the cpu.max,
#            memory.max and pids.max given; /proc/PID/limits has the no-file and fsize given (soft and hard); its
#            descriptors 7 and 8 are the TAP (fdinfo iff: the TAP's name) and /dev/vhost-vsock, and the guest pings the
#            TAP's address and exchanges a line with the host over vsock (CID 5); the VMM's descriptor count (what the
#            default no-file must hold) is printed; QMP quit through the socket in the jail (the link at the path
#            given points there); then the jailer exits 0 and the jail, the cgroup and the link are gone
#   vmm-fails  a VMM that fails (a gzip file as -kernel): the jailer exits with its code (1), the VMM's error line is
#            shown, and the jail and the cgroup are gone
#   sigterm  with ozone's -capability CAP_NET_ADMIN, -numa 0 and -source_file, no --resource-limit: the VMM has
#            CAP_NET_ADMIN in its effective, permitted, bounding and ambient sets and no other capability; its
#            cgroup's cpuset.mems is 0; the source file is at /vm/NAME, mounted read-only; its no-file limit is the
#            default 2048 and fsize unlimited. Then SIGTERM to the jailer: the VMM is killed, the jail and the cgroup
#            are gone
#   daemonize  --daemonize --log-path with a paused VMM (-S): the jailer returns 0 and the QMP socket already answers
#            (prelaunch); the daemon (its pid in <jail dir>/jailer.pid) runs on and leads a session of its own, not
#            ours; its and the VMM's stdin is /dev/null, stdout and stderr the log; the VMM is
#            in the daemon's session. QMP quit: the daemon removes the jail, the cgroup and the link, says the VMM's
#            status in the log, and ends. A VMM that fails before it listens (-m 1): the jailer exits with its status
#            (1), names the log, which has the VMM's error line; nothing is left
#   usage    --uid 0: one line and exit 1, nothing created; fds= naming a descriptor that is not open: the same
#
# usage: ci/tests/jailer.sh [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=500
. "$(dirname "$0")/lib.sh"
HOST_VSOCK=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/tests/vsock
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  # The host's side of the vsock exchange (ci/guest/vsock.c), where the emulated host sees it, as vsock.sh builds it.
  mkdir -p "${HOST_VSOCK%/*}" && gcc -O2 -o "$HOST_VSOCK.$$" "$TESTS_ROOT/ci/guest/vsock.c" \
    && mv "$HOST_VSOCK.$$" "$HOST_VSOCK" || { echo "jailer tests: gcc failed" >&2; exit 2; }
fi
tests_enter x86_64 "jailer tests" "$TESTS_DIR/jailer.sh" "$@"
export PATH=$PATH:/usr/sbin:/sbin
JAILER=${MESOVIRT%/mesovirt}/mesovirt-jailer
QMP_CLIENT=${MESOVIRT%/mesovirt}/mesovirt-qmp
BASE=$WORK/jails
EXPECT_SECCOMP=${MESOVIRT_JAILER_EXPECT_SECCOMP:-1}

# The emulated host mounts no cgroup file system; the jailer needs cgroup v2 for its limits.
if ! grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts; then
  mount -t cgroup2 none /sys/fs/cgroup || echo "jailer tests: cannot mount cgroup2"
fi

# wait_for LOG REGEX PID SECONDS: until the console shows the line, or the process ended, or time is up.
wait_for() {
  local i=0
  until has "$1" "$2" || ! kill -0 "$3" 2>/dev/null || [ "$i" -ge "$4" ]; do sleep 1; i=$((i + 1)); done
  has "$1" "$2"
}
status_of() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr -s '\t ' ' '; }
gone() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
# limit_of PID NAME: "soft hard" of a /proc/PID/limits line ("Max open files", "Max file size").
limit_of() { sed -n "s/^$2  *\([^ ]*\)  *\([^ ]*\) .*/\1 \2/p" "/proc/$1/limits" 2>/dev/null; }
# session_of PID: field 6 of /proc/PID/stat (after the name in parentheses).
session_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f4; }
# ended PID: gone, or a zombie nobody reaped yet.
ended() { [ ! -e "/proc/$1/status" ] || [ "$(status_of "$1" State | cut -c1)" = Z ]; }
# vmm_of CGROUP-DIR: the process of the VM's cgroup that runs as uid 1000 (the stage's unshare, still root, is there too).
vmm_of() {
  local p
  for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
    [ "$(status_of "$p" Uid)" = "1000 1000 1000 1000" ] && echo "$p"
  done
}
b64() { printf '%s' "$1" | base64 -w0; }

# The caller's side of descriptor passing, as Kata's runtime does it: python3 fds.py TAP TAPFD VHOSTFD COMMAND...
# opens a TAP (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), moves it into the network namespace jailnet with 10.0.2.1/24,
# opens /dev/vhost-vsock, and execs COMMAND with them at numbers TAPFD and VHOSTFD. Only COMMAND (the jailer) has
# them: a parent holding a copy (timeout, this shell) would keep the vhost device, whose kernel worker sits in the
# VM's cgroup, alive after the VMM, and the cgroup could not be removed.
cat_fds_helper() {
  cat <<'PY'
import fcntl, os, struct, subprocess, sys
TUNSETIFF, IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x400454CA, 0x0002, 0x1000, 0x4000
name, tap_number, vhost_number = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
for step in (["link", "set", name, "netns", "jailnet"], ["-n", "jailnet", "addr", "add", "10.0.2.1/24", "dev", name],
             ["-n", "jailnet", "link", "set", name, "up"]):
    subprocess.run(["ip"] + step, check=True)
vhost = os.open("/dev/vhost-vsock", os.O_RDWR)
for fd, number in ((tap, tap_number), (vhost, vhost_number)):
    os.dup2(fd, number)  # inheritable
    os.close(fd)
os.execvp(sys.argv[4], sys.argv[4:])
PY
}

case_jailed() {
  begin jailed; local log=$WORK/$CASE.log facts=$WORK/$CASE.facts t pid vmm="" jail=$BASE/mesovirt/vm1 cg=/sys/fs/cgroup/mesovirt/vm1 host
  ip netns add jailnet
  cat_fds_helper >"$WORK/fds.py"
  truncate -s 8M "$WORK/disk.img"
  chown 1000:1000 "$WORK/disk.img" # the jailer changes no owner: a disk must be writable by the VMM's uid
  : >"$log"
  # The guest's part: the TAP's address over virtio-net, a line each way over vsock with the host.
  local script='ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
ping -c 3 -W 5 10.0.2.1 >/tmp/ping 2>&1 && echo GUEST-PING-OK; tail -2 /tmp/ping
r=$(echo hello-from-guest | vsock -t 200 listen 1234); echo "GUEST-VSOCK-GOT $r"'
  echo hello-from-host | "$HOST_VSOCK" -t 400 connect 5 1234 >"$WORK/vsock.host" 2>&1 &
  host=$!
  t=$(now)
  timeout "$CASE_TIMEOUT" python3 "$WORK/fds.py" tapj 7 8 "$JAILER" --id vm1 --uid 1000 --gid 1000 \
    --chroot-base-dir "$BASE" --netns /run/netns/jailnet --cgroup cpu.max="200000 100000" --cgroup memory.max=1G \
    --cgroup pids.max=256 --resource-limit no-file=1024 --resource-limit fsize=1073741824 -- \
    -machine microvm -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$script") guest.sleep=400" -m 256 -smp 1 -serial stdio \
    -qmp "unix:$WORK/vm.sock,server,nowait" -drive "id=d0,file=$WORK/disk.img" -device virtio-blk-device,drive=d0,id=blk0 \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-device,rng=r0,id=rng0 \
    -netdev tap,id=n0,fds=7 -device virtio-net-device,netdev=n0,id=net0,mac=02:4d:56:00:00:01 \
    -device vhost-vsock-device,id=vsock0,guest-cid=5,vhostfd=8 </dev/null >"$log" 2>&1 &
  pid=$!
  wait_for "$log" '^GUEST-CMD-RC' "$pid" "$CASE_TIMEOUT"
  check "$log" "GUEST-READY on the serial console" has "$log" '^GUEST-READY'
  vmm=$(vmm_of "$cg")
  check "$log" "a uid-1000 process in cgroup mesovirt/vm1 (cgroup.procs: $(tr '\n' ' ' < "$cg/cgroup.procs" 2>/dev/null))" test -n "$vmm"
  if [ -n "$vmm" ]; then
    {
      echo "VMM pid $vmm: $(tr '\0' ' ' < "/proc/$vmm/cmdline" | cut -c1-150)"
      local ns
      for ns in mnt pid ipc uts net; do echo "ns $ns: ours $(readlink /proc/self/ns/$ns), VMM's $(readlink /proc/$vmm/ns/$ns)"; done
      echo "netns jailnet: inode $(stat -L -c %i /run/netns/jailnet)"
      echo "root: $(stat -L -c %d:%i /proc/$vmm/root), jail root $(stat -c %d:%i "$jail/root"); entries: $(ls -A /proc/$vmm/root | tr '\n' ' '); dev: $(ls -A /proc/$vmm/root/dev | tr '\n' ' ')"
      grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$vmm/status"
      grep -E '^Max (open files|file size)' "/proc/$vmm/limits"
      echo "descriptors: $(ls /proc/$vmm/fd | wc -l) open; 7 -> $(readlink /proc/$vmm/fd/7) ($(grep iff /proc/$vmm/fdinfo/7 | tr '\t' ' ')), 8 -> $(readlink /proc/$vmm/fd/8)"
      echo "cgroup: $(cat /proc/$vmm/cgroup); cpu.max $(cat $cg/cpu.max); memory.max $(cat $cg/memory.max); pids.max $(cat $cg/pids.max); pids.current $(cat $cg/pids.current)"
      echo "socket link: $WORK/vm.sock -> $(readlink "$WORK/vm.sock")"
    } >"$facts"
    sed 's/^/  /' "$facts"
    for ns in mnt pid ipc uts; do
      check "$log" "a $ns namespace of its own" test "$(readlink /proc/$vmm/ns/$ns)" != "$(readlink /proc/self/ns/$ns)"
    done
    check "$log" "the network namespace /run/netns/jailnet" \
      test "$(readlink /proc/$vmm/ns/net)" = "net:[$(stat -L -c %i /run/netns/jailnet)]"
    check "$log" "root = the jail directory" test "$(stat -L -c %d:%i /proc/$vmm/root)" = "$(stat -c %d:%i "$jail/root")"
    check "$log" "the jail holds the kernel at /vm and no /etc" \
      test -f "/proc/$vmm/root/vm/vmlinuz-cloud" -a ! -e "/proc/$vmm/root/etc" -a -c "/proc/$vmm/root/dev/kvm"
    check "$log" "the jail has no /dev/net/tun and no /dev/vhost-vsock (the descriptors were passed)" \
      test ! -e "/proc/$vmm/root/dev/net/tun" -a ! -e "/proc/$vmm/root/dev/vhost-vsock"
    check "$log" "Uid 1000" test "$(status_of "$vmm" Uid)" = "1000 1000 1000 1000"
    check "$log" "Gid 1000" test "$(status_of "$vmm" Gid)" = "1000 1000 1000 1000"
    check "$log" "no supplementary groups" test -z "$(status_of "$vmm" Groups)"
    check "$log" "CapEff 0" test "$(status_of "$vmm" CapEff)" = 0000000000000000
    check "$log" "CapPrm 0" test "$(status_of "$vmm" CapPrm)" = 0000000000000000
    check "$log" "CapBnd 0" test "$(status_of "$vmm" CapBnd)" = 0000000000000000
    check "$log" "NoNewPrivs 1" test "$(status_of "$vmm" NoNewPrivs)" = 1
    if [ "$EXPECT_SECCOMP" = 1 ]; then
      check "$log" "Seccomp 2 (filter mode)" test "$(status_of "$vmm" Seccomp)" = 2
    else
      echo "  (Seccomp not checked: MESOVIRT_JAILER_EXPECT_SECCOMP=0; it is $(status_of "$vmm" Seccomp))"
    fi
    check "$log" "in cgroup /mesovirt/vm1" test "$(cat /proc/$vmm/cgroup)" = "0::/mesovirt/vm1"
    check "$log" "cpu.max 200000 100000" test "$(cat $cg/cpu.max)" = "200000 100000"
    check "$log" "memory.max 1G" test "$(cat $cg/memory.max)" = 1073741824
    check "$log" "pids.max 256" test "$(cat $cg/pids.max)" = 256
    check "$log" "no-file 1024, soft and hard" test "$(limit_of "$vmm" 'Max open files')" = "1024 1024"
    check "$log" "fsize 1073741824, soft and hard" test "$(limit_of "$vmm" 'Max file size')" = "1073741824 1073741824"
    check "$log" "descriptor 7 is the TAP tapj" \
      test "$(readlink /proc/$vmm/fd/7)" = /dev/net/tun -a "$(sed -n 's/^iff:[[:space:]]*//p' /proc/$vmm/fdinfo/7)" = tapj
    check "$log" "descriptor 8 is /dev/vhost-vsock" test "$(readlink /proc/$vmm/fd/8)" = /dev/vhost-vsock
    check "$log" "the QMP socket is in the jail, linked from the path given" \
      test -S "$jail/root/run/vm.sock" -a "$(readlink "$WORK/vm.sock")" = "$jail/root/run/vm.sock"
  fi
  check "$log" "the guest pinged the TAP's address (the passed TAP descriptor)" has "$log" '^GUEST-PING-OK'
  # The host's side ends with the exchange; without a guest it would retry for minutes.
  if has "$log" '^GUEST-CMD-RC'; then wait "$host" 2>/dev/null; else kill "$host" 2>/dev/null; fi
  check "$log" "vsock: the guest got the host's line (the passed vhost descriptor)" has "$log" '^GUEST-VSOCK-GOT hello-from-host$'
  check "$log" "vsock: the host got the guest's line" grep -qx hello-from-guest "$WORK/vsock.host"
  "$QMP_CLIENT" "$jail/root/run/vm.sock" quit >"$WORK/qmp.out" 2>&1
  check "$log" "QMP quit answered through the socket in the jail" grep -q '"return"' "$WORK/qmp.out"
  wait "$pid"; RC=$?
  SECS=$(secs "$t")
  check "$log" "the jailer's exit code is the VMM's: 0" test "$RC" = 0
  check "$log" "the jail is gone" gone "$BASE/mesovirt/vm1"
  check "$log" "the cgroup is gone" gone "$cg"
  check "$log" "the socket link is gone" gone "$WORK/vm.sock"
  cat "$WORK/qmp.out" "$facts" "$WORK/vsock.host" >>"$log" 2>/dev/null
  kill "$host" 2>/dev/null
  ip netns del jailnet
  finish "$log"
}

case_vmm_fails() {
  begin vmm-fails; local log=$WORK/$CASE.log t
  t=$(now)
  timeout "$CASE_TIMEOUT" "$JAILER" --id vm2 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" --cgroup pids.max=128 -- \
    -kernel "$IMG/initrd-cloud.gz" -m 256 -serial stdio </dev/null >"$log" 2>&1
  RC=$?; SECS=$(secs "$t")
  # What the jail costs: the same failing VMM without the jailer.
  local t2 plain
  t2=$(now); "$MESOVIRT" -kernel "$IMG/initrd-cloud.gz" -m 256 -serial stdio </dev/null >/dev/null 2>&1; plain=$(secs "$t2")
  echo "  jailed ${SECS}s, the same VMM without the jailer ${plain}s"
  check "$log" "exit code 1, the VMM's" test "$RC" = 1
  check "$log" "the VMM's error line, with the in-jail path" has "$log" '^mesovirt: kernel /vm/initrd-cloud.gz: .*gzip'
  check "$log" "the jail is gone" gone "$BASE/mesovirt/vm2"
  check "$log" "the cgroup is gone" gone /sys/fs/cgroup/mesovirt/vm2
  finish "$log"
}

case_sigterm() {
  begin sigterm; local log=$WORK/$CASE.log t pid i=0 vmm="" cg=/sys/fs/cgroup/mesovirt/vm4
  : >"$log"
  echo "a file for the jail" >"$WORK/extra.txt"
  t=$(now)
  "$JAILER" --id vm4 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" --cgroup pids.max=256 \
    -capability CAP_NET_ADMIN -numa 0 -source_file "$WORK/extra.txt" -- \
    -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -append "console=ttyS0 quiet guest.sleep=400" \
    -m 256 -serial stdio </dev/null >"$log" 2>&1 &
  pid=$!
  while [ -z "$vmm" ] && [ "$i" -lt 120 ] && kill -0 "$pid" 2>/dev/null; do
    sleep 1; i=$((i + 1))
    vmm=$(vmm_of "$cg")
  done
  check "$log" "the VMM ran (uid 1000 in cgroup mesovirt/vm4)" test -n "$vmm"
  if [ -n "$vmm" ]; then
    local net_admin=0000000000001000 set
    grep -E '^Cap' "/proc/$vmm/status" | sed 's/^/  /'
    for set in CapEff CapPrm CapBnd CapAmb CapInh; do
      check "$log" "$set: CAP_NET_ADMIN only" test "$(status_of "$vmm" $set)" = $net_admin
    done
    check "$log" "NoNewPrivs 1" test "$(status_of "$vmm" NoNewPrivs)" = 1
    check "$log" "-numa 0: cpuset.mems 0 (it is '$(cat $cg/cpuset.mems 2>&1)')" test "$(cat $cg/cpuset.mems)" = 0
    check "$log" "the source file at /vm/extra.txt" \
      test "$(cat "/proc/$vmm/root/vm/extra.txt" 2>&1)" = "a file for the jail"
    check "$log" "mounted read-only ($(grep ' /vm/extra.txt ' "/proc/$vmm/mountinfo" | cut -d' ' -f5,6))" \
      test "$(grep ' /vm/extra.txt ' "/proc/$vmm/mountinfo" | cut -d' ' -f6 | cut -d, -f1)" = ro
    check "$log" "the default no-file: 2048, soft and hard" test "$(limit_of "$vmm" 'Max open files')" = "2048 2048"
    check "$log" "no fsize limit by default" test "$(limit_of "$vmm" 'Max file size')" = "unlimited unlimited"
  fi
  kill -TERM "$pid"
  wait "$pid"; RC=$?; SECS=$(secs "$t")
  sleep 0.5
  check "$log" "the jailer ended by SIGTERM (143)" test "$RC" = 143
  check "$log" "the VMM is gone" ended "${vmm:-0}"
  check "$log" "the jail is gone" gone "$BASE/mesovirt/vm4"
  check "$log" "the cgroup is gone" gone "$cg"
  finish "$log"
}

case_daemonize() {
  begin daemonize; local log=$WORK/$CASE.log dlog=$WORK/daemon.log t rc2 jail=$BASE/mesovirt/vm5 cg=/sys/fs/cgroup/mesovirt/vm5
  local d="" vmm="" i=0
  : >"$log"; rm -f "$dlog"
  t=$(now)
  timeout 300 "$JAILER" --id vm5 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" --cgroup pids.max=256 --daemonize \
    --log-path "$dlog" -- -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -append console=ttyS0 -m 256 \
    -serial stdio -S -qmp "unix:$WORK/vm5.sock,server,nowait" </dev/null >>"$log" 2>&1
  RC=$?
  echo "  --daemonize returned $RC after $(secs "$t")s"
  check "$log" "--daemonize returns 0" test "$RC" = 0
  "$QMP_CLIENT" "$WORK/vm5.sock" query-status >"$WORK/status.out" 2>&1
  check "$log" "on return, QMP answers through the link: prelaunch ($(tr -d '\n' < "$WORK/status.out" | cut -c1-120))" \
    grep -q prelaunch "$WORK/status.out"
  d=$(cat "$jail/jailer.pid" 2>/dev/null)
  check "$log" "the daemon's pid in $jail/jailer.pid" test -n "$d" -a -e "/proc/${d:-0}/status"
  vmm=$(vmm_of "$cg")
  check "$log" "a uid-1000 VMM in cgroup mesovirt/vm5" test -n "$vmm"
  if [ -n "$d" ] && [ -n "$vmm" ]; then
    echo "  daemon $d: ppid $(status_of "$d" PPid), session $(session_of "$d"), fds 0-2: $(readlink /proc/$d/fd/0) $(readlink /proc/$d/fd/1) $(readlink /proc/$d/fd/2); ours: session $(session_of $$)"
    echo "  VMM $vmm: session $(session_of "$vmm"), fds 0-2: $(readlink /proc/$vmm/fd/0) $(readlink /proc/$vmm/fd/1) $(readlink /proc/$vmm/fd/2)"
    check "$log" "the daemon leads a session of its own" test "$(session_of "$d")" = "$d"
    check "$log" "not ours" test "$(session_of "$d")" != "$(session_of $$)"
    check "$log" "the daemon's stdin is /dev/null, stdout and stderr the log" \
      test "$(readlink /proc/$d/fd/0)" = /dev/null -a "$(readlink /proc/$d/fd/1)" = "$dlog" -a "$(readlink /proc/$d/fd/2)" = "$dlog"
    check "$log" "the VMM is in the daemon's session" test "$(session_of "$vmm")" = "$d"
    check "$log" "the VMM's stdin is /dev/null, stdout and stderr the log" \
      test "$(readlink /proc/$vmm/fd/0)" = /dev/null -a "$(readlink /proc/$vmm/fd/1)" = "$dlog" -a "$(readlink /proc/$vmm/fd/2)" = "$dlog"
  fi
  "$QMP_CLIENT" "$WORK/vm5.sock" quit >"$WORK/quit.out" 2>&1
  check "$log" "QMP quit answered" grep -q '"return"' "$WORK/quit.out"
  while [ -n "$d" ] && ! ended "$d" && [ "$i" -lt 60 ]; do sleep 1; i=$((i + 1)); done
  check "$log" "the daemon ended after the VMM" ended "${d:-0}"
  check "$log" "the jail is gone" gone "$jail"
  check "$log" "the cgroup is gone" gone "$cg"
  check "$log" "the socket link is gone" gone "$WORK/vm5.sock"
  check "$log" "the log says the VMM's status" grep -qx 'mesovirt-jailer: vm5: the VMM ended with status 0' "$dlog"
  # A VMM that fails before it listens: its status, the log named, nothing left.
  rm -f "$dlog"
  timeout 300 "$JAILER" --id vm6 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" --cgroup pids.max=256 --daemonize \
    --log-path "$dlog" -- -kernel "$IMG/vmlinuz-cloud" -m 1 -qmp "unix:$WORK/vm6.sock,server,nowait" \
    </dev/null >"$WORK/fail.out" 2>&1
  rc2=$?
  SECS=$(secs "$t")
  { echo "failing VMM, daemonized: exit $rc2"; cat "$WORK/fail.out"; echo "its log:"; cat "$dlog"; } >>"$log" 2>/dev/null
  check "$log" "a VMM failing before it listens: the jailer exits 1, its status" test "$rc2" = 1
  check "$log" "one line naming the log" \
    test "$(cat "$WORK/fail.out")" = "mesovirt-jailer: the VMM ended with status 1 before it was ready; its output is in $dlog"
  check "$log" "the log has the VMM's error line" grep -q '^mesovirt: ' "$dlog"
  check "$log" "its jail is gone" gone "$BASE/mesovirt/vm6"
  check "$log" "its cgroup is gone" gone /sys/fs/cgroup/mesovirt/vm6
  finish "$log"
}

case_usage() {
  begin usage; local log=$WORK/$CASE.log t
  t=$(now)
  "$JAILER" --id vm3 --uid 0 --gid 1000 --chroot-base-dir "$BASE" -- -kernel "$IMG/vmlinuz-cloud" </dev/null >"$log" 2>&1
  RC=$?; SECS=$(secs "$t")
  check "$log" "exit code 1" test "$RC" = 1
  check "$log" "one line: not as root" has "$log" '^mesovirt-jailer: --uid 0: the VMM must not run as root$'
  check "$log" "a single line" test "$(wc -l < "$log")" = 1
  check "$log" "no jail made" gone "$BASE/mesovirt/vm3"
  "$JAILER" --id vm3 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" -- -kernel "$IMG/vmlinuz-cloud" \
    -netdev tap,id=n0,fds=900 </dev/null >"$WORK/fd.out" 2>&1
  RC=$?
  cat "$WORK/fd.out" >>"$log"
  check "$log" "fds=900, not open: exit 1" test "$RC" = 1
  check "$log" "one line naming it" test "$(cat "$WORK/fd.out")" = \
    "mesovirt-jailer: -netdev tap,id=n0,fds=900: descriptor 900 is not open in the jailer (pass it open and without close-on-exec)"
  check "$log" "no jail made" gone "$BASE/mesovirt/vm3"
  finish "$log"
}

run_cases "jailer tests" "jailed vmm_fails sigterm daemonize usage" "$@"
