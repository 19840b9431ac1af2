#!/bin/bash
# Real-Linux tests of the x86_64 microVM: unmodified Debian kernels (cloud and generic) with the busybox test
# initramfs, booted by Mesovirt inside the emulated x86_64 KVM host (whatever /dev/kvm this machine has: stock Linux
# boots there; see ci/README.md). The harness: ci/tests/lib.sh.
#
# usage: ci/tests/x86_64.sh [CASE...]     (no CASE: all cases)
# Needs the distribution built first (mvn -B package: cli/target/dist). Outside the emulated host it refreshes the
# guest images and re-runs itself inside; inside, each case runs bin/mesovirt and checks the guest's console markers
# (see ci/guest/init.sh) and the exit code. Ends with the line "N passed, M failed"; exit status 0 only if all pass.
set -uo pipefail
CASE_TIMEOUT=400
. "$(dirname "$0")/lib.sh"
tests_enter x86_64 "x86_64 tests" "$TESTS_DIR/x86_64.sh" "$@"

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

run_cases "x86_64 guest tests" "cloud_smp2 generic_512m serial_input panic reboot bad_kernel" "$@"
