#!/bin/bash
# The JVM wrapper of ci/seccomp-measure.sh (bin/mesovirt runs `$MESOVIRT_WRAPPER java ...`): runs the VMM under
# `strace -f` with MESOVIRT_SECCOMP=log (the filter goes in as usual, but a call outside the list is logged and runs
# instead of killing the process), then writes into $MESOVIRT_SECCOMP_OUT one summary of every system call made by
# any thread of the VMM after the seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) call, with the argument values the filter
# checks:
#   call NAME COUNT | ioctl REQUEST COUNT | arg socket|socketpair ARG0 COUNT | arg clone FLAGS COUNT | installed 0|1 | from seccomp|kvm_run|none
# The VMM is the process of the last successful execve before that point and every thread it starts: so the wrapper
# can also run the jailer (bin/mesovirt-jailer), whose last stage execs the VMM's JVM, without the jailer's own calls
# being counted. A run without the filter (-disable-seccomp, as Kata's launch line says) is counted from its first
# KVM_RUN instead, the moment the filter would have gone in just before (`installed 0`, `from kvm_run`): what such a
# run does while the guest runs. Exits with the wrapped command's status (a SIGTERM is passed on to it). Needs strace (the aarch64/riscv64 hosts
# get it through MESOVIRT_HOST_EXTRA_PKGS).
{
out=${MESOVIRT_SECCOMP_OUT:?MESOVIRT_SECCOMP_OUT: where the summaries go}
trace=$(mktemp "${TMPDIR:-/tmp}/seccomp-trace.XXXXXX") || exit 125
# In the background, so that a SIGTERM for this script (a job's timeout) can be passed on to the VMM and the summary
# of what it did until then is still written. Its stdin is ours (an asynchronous command's is /dev/null otherwise; the VMM
# reads the serial console's input from it).
exec 3<&0
MESOVIRT_SECCOMP=log strace -f -qq -e signal=none -e raw='!clone,clone3' --pidns-translation -o "$trace" "$@" \
  <&3 3<&- &
exec 3<&-
child=$!
# A SIGTERM or SIGINT for this script goes to the traced command (strace's child), as if there were no wrapper (the
# jailer's SIGTERM test, a job's timeout); strace then ends with it.
trap 'kill -TERM $(cat "/proc/$child/task/$child/children" 2>/dev/null) 2>/dev/null || kill -TERM "$child"' TERM INT
wait "$child"
rc=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
trap - TERM INT
# (busybox's date, in the foreign hosts, has no %N: the pid and $RANDOM keep the names apart)
awk '
  function num(x,   v, i) { # a result as strace -e raw=all prints it: hex (0x427c) or decimal
    if (x !~ /^0x/) return x + 0
    v = 0
    for (i = 3; i <= length(x); i++) v = v * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
    return v
  }
  { tid = $1 }
  # the VMM: a process that execs (its threads come later), until the filter goes in
  !on && $2 ~ /^execve\(/ && / = 0$/ { split("", vmm); vmm[tid] = 1; next }
  # its threads: what any of them clones (clone3 before the filter, clone after it); in the PID namespace of a jail
  # the id the tracer sees for the new thread is in a comment (--pidns-translation)
  (tid in vmm) && ($2 ~ /^clone3?\(/ || $0 ~ /^[0-9]+ +<\.\.\. clone3? resumed>/) {
    if (match($0, /\/\* [0-9]+ in strace.s PID NS \*\/$/)) vmm[substr($0, RSTART + 3) + 0] = 1
    else if (match($0, /= (0x[0-9a-f]+|[0-9]+)$/)) vmm[num(substr($0, RSTART + 2))] = 1
  }
  !(tid in vmm) { next }
  !on && $2 ~ /^seccomp\(0x1,$/ && $3 == "0x1," { on = 1; from = "seccomp"; next }
  !on && $2 ~ /^ioctl\(0x[0-9a-f]+,$/ && $3 ~ /^0xae80[,)]/ { on = 2; from = "kvm_run" }
  on && match($0, /^[0-9]+ +[a-z0-9_]+\(/) {
    s = substr($0, RSTART, RLENGTH); sub(/^[0-9]+ +/, "", s); sub(/\($/, "", s); n[s]++
    a = substr($0, RSTART + RLENGTH); sub(/[,)].*/, "", a)
    if (s == "clone") { a = $0; sub(/^.*flags=/, "", a); sub(/[ ,)].*/, "", a) }  # decoded: the flags by name
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
}
