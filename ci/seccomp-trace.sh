#!/bin/bash
# The JVM wrapper of ci/seccomp-measure.sh (bin/mesovirt runs `$MESOVIRT_WRAPPER java ...`): runs the VMM under
# `strace -f` with MESOVIRT_SECCOMP=log (the filter goes in as usual, but a call outside the list is logged and runs
# instead of killing the process), then writes into $MESOVIRT_SECCOMP_OUT one summary of every system call made by
# any thread after the seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) call, with the argument values the filter checks:
#   call NAME COUNT | ioctl REQUEST COUNT | arg socket|socketpair|clone ARG0 COUNT | installed 0|1 | from seccomp|kvm_run|none
# A run without the filter (-disable-seccomp, as Kata's launch line says) is counted from its first KVM_RUN instead,
# the moment the filter would have gone in just before (`installed 0`, `from kvm_run`): what such a run does while the
# guest runs. Exits with the VMM's status. Needs strace (the aarch64/riscv64 hosts get it through
# MESOVIRT_HOST_EXTRA_PKGS).
out=${MESOVIRT_SECCOMP_OUT:?MESOVIRT_SECCOMP_OUT: where the summaries go}
trace=$(mktemp "${TMPDIR:-/tmp}/seccomp-trace.XXXXXX") || exit 125
MESOVIRT_SECCOMP=log strace -f -qq -e signal=none -e raw=all -o "$trace" "$@"
rc=$?
# (busybox's date, in the foreign hosts, has no %N: the pid and $RANDOM keep the names apart)
awk '
  !on && /^[0-9]+ +seccomp\(0x1, 0x1,/ { on = 1; from = "seccomp"; next }
  !on && /^[0-9]+ +ioctl\(0x[0-9a-f]+, 0xae80[,)]/ { on = 2; from = "kvm_run" }
  on && match($0, /^[0-9]+ +[a-z0-9_]+\(/) {
    s = substr($0, RSTART, RLENGTH); sub(/^[0-9]+ +/, "", s); sub(/\($/, "", s); n[s]++
    a = substr($0, RSTART + RLENGTH); sub(/[,)].*/, "", a)
    if (s == "socket" || s == "socketpair" || s == "clone") arg[s " " a]++
    if (s == "ioctl") { b = substr($0, RSTART + RLENGTH); sub(/^[^,]*, */, "", b); sub(/[,)].*/, "", b); io[b]++ }
  }
  END {
    for (k in n) print "call", k, n[k]
    for (k in io) print "ioctl", k, io[k]
    for (k in arg) print "arg", k, arg[k]
    print "installed", (on == 1) ? 1 : 0
    print "from", on ? from : "none"
  }' "$trace" >"$out/$(date +%s)-$$-$RANDOM.txt"
rm -f "$trace"
exit "$rc"
