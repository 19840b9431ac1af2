#!/bin/bash
# Real-Linux tests of the x86_64 microVM: unmodified Debian kernels (cloud and generic) with the busybox test
# initramfs, booted by Mesovirt inside the emulated x86_64 KVM host (this machine's /dev/kvm is kvm_pvm, which cannot
# boot stock Linux; see ci/README.md).
#
# usage: ci/tests/x86_64.sh [CASE...]     (no CASE: all cases)
# Needs the distribution built first (mvn -B package: cli/target/dist). Outside the emulated host it refreshes the
# guest images and re-runs itself inside; inside, each case runs bin/mesovirt and checks the guest's console markers
# (see ci/guest/init.sh) and the exit code. Ends with the line "N passed, M failed"; exit status 0 only if all pass.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
CASE_TIMEOUT=${MESOVIRT_CASE_TIMEOUT:-400}

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "x86_64 tests: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
  exec bash "$ROOT/ci/emulated-host.sh" x86_64 "$HERE/x86_64.sh" "$@"
fi

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
WORK=$(mktemp -d /tmp/mesovirt-tests.XXXXXX)
PASSED=0 FAILED=0 FAILURES=""

now() { date +%s.%N; }
secs() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# run_vm LOG ARGS...: runs mesovirt with stdin from /dev/null, console and stderr into LOG; sets RC and SECS.
run_vm() {
  local log=$1; shift
  local t; t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" "$@" </dev/null >"$log" 2>&1
  RC=$?
  SECS=$(secs "$t")
}

# check LOG DESCRIPTION COMMAND...: records a failed expectation of the current case.
check() {
  local log=$1 what=$2; shift 2
  if ! "$@"; then
    CASE_OK=0
    echo "  expected: $what"
  fi
}
# The guest's console lines end in CR LF (a tty's output processing): match on the text without the CR.
has() { tr -d '\r' < "$1" | grep -q -- "$2"; }

begin() { CASE=$1; CASE_OK=1; echo "=== $CASE"; }
finish() {
  local log=$1
  if [ "$CASE_OK" = 1 ]; then
    PASSED=$((PASSED + 1)); echo "--- PASS $CASE (${SECS}s, exit $RC)"
  else
    FAILED=$((FAILED + 1)); FAILURES="$FAILURES $CASE"
    echo "--- FAIL $CASE (${SECS}s, exit $RC); console and log:"; sed 's/^/    | /' "$log" | tail -60
  fi
}

boot_markers() { # LOG CPUS
  check "$1" "exit code 0 (guest power-off)" test "$RC" = 0
  check "$1" "GUEST-READY" has "$1" '^GUEST-READY'
  check "$1" "GUEST-CPUS $2" has "$1" "^GUEST-CPUS $2\$"
  check "$1" "GUEST-DONE" has "$1" '^GUEST-DONE'
}

case_cloud_smp2() {
  begin cloud-smp2; local log=$WORK/$CASE.log
  run_vm "$log" -machine microvm -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet" -m 256 -smp 2 -serial stdio
  boot_markers "$log" 2
  check "$log" "Debian cloud kernel" has "$log" 'GUEST-KERNEL .*-cloud-amd64'
  finish "$log"
}

# The guest sums the "System RAM" ranges of the firmware memory map (our e820) it booted with.
RAM_SCRIPT='t=0; for d in /sys/firmware/memmap/*; do [ "$(cat $d/type)" = "System RAM" ] && t=$((t + ($(cat $d/end) - $(cat $d/start) + 1) / 1024)); done; echo "GUEST-RAM-KB $t"'

case_generic_512m() {
  begin generic-512m; local log=$WORK/$CASE.log
  run_vm "$log" -machine type=microvm -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet guest.cmd=$(printf '%s' "$RAM_SCRIPT" | base64 -w0)" -m 512M -smp cpus=1 -serial stdio
  boot_markers "$log" 1
  check "$log" "Debian generic kernel" has "$log" 'GUEST-KERNEL .*[0-9]-amd64'
  # The RAM the guest was given: 512 MiB less the legacy holes below 1 MiB (within 1%). MemTotal is that less what
  # the kernel keeps for itself (the generic kernel keeps ~11% of 512 MiB; QEMU microvm shows the same).
  local ram kb
  ram=$(sed -n 's/^GUEST-RAM-KB \([0-9]*\).*/\1/p' "$log")
  kb=$(sed -n 's/^GUEST-MEMKB \([0-9]*\).*/\1/p' "$log")
  check "$log" "GUEST-RAM-KB within 1% of 524288 kB (got ${ram:-none})" \
    awk -v k="${ram:-0}" 'BEGIN { exit !(k > 0.99 * 524288 && k <= 524288) }'
  check "$log" "GUEST-MEMKB above 85% of 524288 kB (got ${kb:-none})" \
    awk -v k="${kb:-0}" 'BEGIN { exit !(k > 0.85 * 524288 && k <= 524288) }'
  finish "$log"
}

case_serial_input() {
  begin serial-stdin; local log=$WORK/$CASE.log fifo=$WORK/stdin.fifo
  mkfifo "$fifo"
  local t; t=$(now)
  # The guest starts a shell on the console after GUEST-SHELL; a line sent to our stdin must run in it.
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet guest.shell=1" -m 256 -serial stdio <"$fifo" >"$log" 2>&1 &
  local pid=$!
  exec 3>"$fifo"
  local waited=0
  until grep -q '^GUEST-SHELL' "$log" || ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge "$CASE_TIMEOUT" ]; do
    sleep 1; waited=$((waited + 1))
  done
  sleep 1
  printf 'echo SERIAL-$((6*7))\n' >&3
  local w2=0
  until grep -q 'SERIAL-42' "$log" || ! kill -0 "$pid" 2>/dev/null || [ "$w2" -ge 60 ]; do sleep 1; w2=$((w2 + 1)); done
  printf 'exit\n' >&3
  exec 3>&-
  wait "$pid"; RC=$?
  SECS=$(secs "$t")
  check "$log" "the shell ran the line: SERIAL-42 on the console" has "$log" 'SERIAL-42'
  check "$log" "exit code 0 after the shell exits and the guest powers off" test "$RC" = 0
  finish "$log"
}

case_panic() {
  begin guest-panic; local log=$WORK/$CASE.log
  run_vm "$log" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet guest.panic=1" -m 256 -serial stdio
  check "$log" "exit code 3 (guest panic)" test "$RC" = 3
  check "$log" "the kernel panicked" has "$log" 'Kernel panic'
  check "$log" "Mesovirt reports the panic" has "$log" 'guest panicked'
  finish "$log"
}

case_reboot() {
  begin guest-reboot; local log=$WORK/$CASE.log
  run_vm "$log" -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet guest.reboot=1" -m 256 -serial stdio -D
  check "$log" "exit code 0 (a reboot stops the microVM)" test "$RC" = 0
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  check "$log" "stopped as rebooted" has "$log" 'Rebooted'
  finish "$log"
}

case_bad_kernel() {
  begin bad-kernel; local log=$WORK/$CASE.log
  run_vm "$log" -kernel "$IMG/initrd-cloud.gz" -m 256 -serial stdio
  check "$log" "exit code 1" test "$RC" = 1
  check "$log" "one clear error line naming the file" has "$log" "^mesovirt: kernel $IMG/initrd-cloud.gz: .*gzip"
  check "$log" "a single line of output" test "$(wc -l < "$log")" = 1
  finish "$log"
}

ALL="cloud_smp2 generic_512m serial_input panic reboot bad_kernel"
CASES=${*:-$ALL}
echo "x86_64 guest tests in the emulated host: $(uname -r), $(nproc) CPUs; cases: $CASES"
for c in $CASES; do
  "case_$c"
done
echo "x86_64 guest tests:${FAILURES:- none} failed"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
