#!/bin/bash
# The jailer (bin/mesovirt-jailer) with a real guest, inside the emulated x86_64 KVM host. One guest boot.
#   jailed   the VMM under the jailer (cgroup limits, a network namespace by path) boots the cloud kernel; seen from
#            outside while the guest runs: the VMM's mount, PID, IPC and UTS namespaces differ from ours and its network
#            namespace is the one given; its root is the jail directory (only the jail's entries: no /etc, the kernel
#            at /vm/...); Uid/Gid 1000; CapEff, CapPrm, CapBnd 0; NoNewPrivs 1; Seccomp 2 (the VMM's filter;
#            MESOVIRT_JAILER_EXPECT_SECCOMP=0 skips this one check until the filter is merged); its cgroup is
#            mesovirt/vm1 with the cpu.max, memory.max and pids.max given; the guest's boot marker on the serial
#            console; QMP quit through the socket in the jail (the link at the path given points there); then the
#            jailer exits 0 and the jail, the cgroup and the link are gone
#   vmm-fails  a VMM that fails (a gzip file as -kernel): the jailer exits with its code (1), the VMM's error line is
#            shown, and the jail and the cgroup are gone
#   sigterm  SIGTERM to the jailer while the VMM runs: the VMM is killed, the jail and the cgroup are gone
#   usage    --uid 0: one line and exit 1, nothing created
#
# usage: ci/tests/jailer.sh [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=500
. "$(dirname "$0")/lib.sh"
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

case_jailed() {
  begin jailed; local log=$WORK/$CASE.log facts=$WORK/$CASE.facts t pid vmm="" jail=$BASE/mesovirt/vm1 cg=/sys/fs/cgroup/mesovirt/vm1
  ip netns add jailnet
  : >"$log"
  t=$(now)
  timeout "$CASE_TIMEOUT" "$JAILER" --id vm1 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" --netns /run/netns/jailnet \
    --cgroup cpu.max="200000 100000" --cgroup memory.max=1G --cgroup pids.max=256 -- \
    -machine microvm -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet guest.sleep=400" -m 256 -smp 1 -serial stdio -qmp "unix:$WORK/vm.sock,server,nowait" \
    </dev/null >"$log" 2>&1 &
  pid=$!
  wait_for "$log" '^GUEST-READY' "$pid" "$CASE_TIMEOUT"
  check "$log" "GUEST-READY on the serial console" has "$log" '^GUEST-READY'
  # The VMM: the process of the VM's cgroup that runs as uid 1000 (the stage's unshare, still root, is there too).
  local p
  for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
    [ "$(status_of "$p" Uid)" = "1000 1000 1000 1000" ] && vmm=$p
  done
  check "$log" "a uid-1000 process in cgroup mesovirt/vm1 (cgroup.procs: $(tr '\n' ' ' < "$cg/cgroup.procs" 2>/dev/null))" test -n "$vmm"
  if [ -n "$vmm" ]; then
    {
      echo "VMM pid $vmm: $(tr '\0' ' ' < "/proc/$vmm/cmdline" | cut -c1-150)"
      local ns
      for ns in mnt pid ipc uts net; do echo "ns $ns: ours $(readlink /proc/self/ns/$ns), VMM's $(readlink /proc/$vmm/ns/$ns)"; done
      echo "netns jailnet: inode $(stat -L -c %i /run/netns/jailnet)"
      echo "root: $(stat -L -c %d:%i /proc/$vmm/root), jail root $(stat -c %d:%i "$jail/root"); entries: $(ls -A /proc/$vmm/root | tr '\n' ' ')"
      grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$vmm/status"
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
    check "$log" "the QMP socket is in the jail, linked from the path given" \
      test -S "$jail/root/run/vm.sock" -a "$(readlink "$WORK/vm.sock")" = "$jail/root/run/vm.sock"
  fi
  "$QMP_CLIENT" "$jail/root/run/vm.sock" quit >"$WORK/qmp.out" 2>&1
  check "$log" "QMP quit answered through the socket in the jail" grep -q '"return"' "$WORK/qmp.out"
  wait "$pid"; RC=$?
  SECS=$(secs "$t")
  check "$log" "the jailer's exit code is the VMM's: 0" test "$RC" = 0
  check "$log" "the jail is gone" gone "$BASE/mesovirt/vm1"
  check "$log" "the cgroup is gone" gone "$cg"
  check "$log" "the socket link is gone" gone "$WORK/vm.sock"
  cat "$WORK/qmp.out" "$facts" >>"$log" 2>/dev/null
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
  begin sigterm; local log=$WORK/$CASE.log t pid i=0 vmm="" cg=/sys/fs/cgroup/mesovirt/vm4 p
  : >"$log"
  t=$(now)
  "$JAILER" --id vm4 --uid 1000 --gid 1000 --chroot-base-dir "$BASE" --cgroup pids.max=256 -- \
    -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -append "console=ttyS0 quiet guest.sleep=400" \
    -m 256 -serial stdio </dev/null >"$log" 2>&1 &
  pid=$!
  while [ -z "$vmm" ] && [ "$i" -lt 120 ] && kill -0 "$pid" 2>/dev/null; do
    sleep 1; i=$((i + 1))
    for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
      [ "$(status_of "$p" Uid)" = "1000 1000 1000 1000" ] && vmm=$p
    done
  done
  check "$log" "the VMM ran (uid 1000 in cgroup mesovirt/vm4)" test -n "$vmm"
  kill -TERM "$pid"
  wait "$pid"; RC=$?; SECS=$(secs "$t")
  sleep 0.5
  check "$log" "the jailer ended by SIGTERM (143)" test "$RC" = 143
  check "$log" "the VMM is gone" test ! -e "/proc/${vmm:-0}/status" -o "$(status_of "${vmm:-0}" State | cut -c1)" = Z
  check "$log" "the jail is gone" gone "$BASE/mesovirt/vm4"
  check "$log" "the cgroup is gone" gone "$cg"
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
  finish "$log"
}

run_cases "jailer tests" "jailed vmm_fails sigterm usage" "$@"
