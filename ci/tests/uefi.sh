#!/bin/bash
# UEFI on the x86_64 standard machine (-machine q35): Debian 12's OVMF as shipped (ci/firmware.sh), started from pflash
# by Mesovirt inside the emulated x86_64 KVM host. The harness: ci/tests/lib.sh.
#   shell      OVMF_CODE_4M.fd (unit 0, read-only) + a copy of OVMF_VARS_4M.fd (unit 1), -m 512, no disk: the vCPU
#              starts at the reset vector and OVMF runs SEC, PEI, DXE and BDS; its debug log (port 0x402) goes to the
#              VMM's log (-D), its console to the serial port. Checks: SEC and PEI ran (the debug log), the boot manager
#              (BdsDxe) ran and, with nothing to boot, OVMF reaches its UEFI shell or boot-failure message on the serial
#              console. The VM is stopped once that is seen (OVMF waits in the shell forever).
#   qemu       the reference: QEMU's q35 with KVM and the same firmware in the same host, to the same markers (time)
#   errors     a truncated firmware file, a wrong-architecture one (the variable store as code) and -kernel with
#              pflash: one clear line and exit 1 each
# The outer QEMU is Debian 12's 7.2 (MESOVIRT_HOST_QEMU_SUITE=bookworm, unless set otherwise). OVMF in a nested guest
# makes the outer QEMU abort with "tcg_handle_interrupt: assertion failed: (bql_locked())" (exit 125, no HOST-RC):
# always in trixie's 10.0.13, the default emulated host of the other jobs (three runs, under Mesovirt and under QEMU's
# own q35 alike), and in some runs of 7.2 too: a bug of the outer QEMU's TCG with nested SVM, not of the VMM under
# test. So this is not a CI job yet.
#
# usage: ci/tests/uefi.sh [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=900
export MESOVIRT_HOST_QEMU_SUITE=${MESOVIRT_HOST_QEMU_SUITE:-bookworm}
. "$(dirname "$0")/lib.sh"
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  bash "$TESTS_ROOT/ci/firmware.sh" x86_64 >/dev/null || exit 2
fi
tests_enter x86_64 "uefi tests" "$TESTS_DIR/uefi.sh" "$@"
FW=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/firmware/x86_64

# wait_for LOG REGEX SECONDS PID: until LOG has a line matching REGEX, PID has exited or SECONDS have passed.
wait_for() {
  local i=0
  until tr -d '\r' < "$1" 2>/dev/null | grep -a -q -E -- "$2"; do
    kill -0 "$4" 2>/dev/null || return 1
    [ "$i" -ge "$3" ] && return 1
    sleep 1; i=$((i + 1))
  done
}

case_shell() {
  begin ovmf-shell; local log=$WORK/$CASE.log vmm=$WORK/$CASE.vmm.log t
  cp "$FW/OVMF_VARS_4M.fd" "$WORK/vars.fd"
  t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -machine q35 -m 512 -smp 1 -serial stdio -D "$vmm" \
    -drive file="$FW/OVMF_CODE_4M.fd",if=pflash,unit=0,readonly=on -drive file="$WORK/vars.fd",if=pflash,unit=1 \
    </dev/null >"$log" 2>&1 &
  local pid=$!
  # The shell's banner or the boot manager's message about nothing to boot, whichever OVMF prints.
  local done_re='UEFI Interactive Shell|Shell>|No bootable option|BdsDxe: failed to load|Boot Manager'
  wait_for "$log" "$done_re" "$((CASE_TIMEOUT - 30))" "$pid"
  SECS=$(secs "$t")
  kill "$pid" 2>/dev/null; wait "$pid"; RC=$?
  echo "  firmware time to the shell/boot manager: ${SECS}s"
  check "$vmm" "the firmware starts at the reset vector" grep -q "firmware boot: the vCPUs start at their reset state" "$vmm"
  # Debian's OVMF is a release build: it writes nothing to the debug port (QEMU's debugcon gets nothing either, see
  # the qemu case), so its progress shows on the serial console only.
  check "$log" "OVMF's boot manager (BdsDxe) started a boot option" has "$log" 'BdsDxe: (loading|starting) Boot[0-9A-F]{4}'
  check "$log" "the serial console shows the shell or the boot manager" has "$log" "$done_re"
  echo "  debug log: $(grep -a -c 'firmware: ' "$vmm") lines; its last:"; grep -a 'firmware: ' "$vmm" | tail -15 | cut -c1-200 | sed 's/^/    /'
  echo "  serial console (last lines):"; tr -d '\r' < "$log" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -a -v '^ *$' | tail -12 | cut -c1-160 | sed 's/^/    /'
  finish "$log"
}

# The reference: QEMU's q35 (Debian 12's qemu-system-x86, KVM) with the same firmware files, same host, same run.
case_qemu() {
  begin qemu-ovmf-shell; local log=$WORK/$CASE.log dbg=$WORK/$CASE.debugcon t
  cp "$FW/OVMF_VARS_4M.fd" "$WORK/qvars.fd"
  t=$(now)
  timeout 600 qemu-system-x86_64 -M q35 -accel kvm -cpu host -m 512 -smp 1 -nodefaults -display none \
    -serial stdio -debugcon "file:$dbg" -global isa-debugcon.iobase=0x402 \
    -drive file="$FW/OVMF_CODE_4M.fd",if=pflash,unit=0,readonly=on,format=raw \
    -drive file="$WORK/qvars.fd",if=pflash,unit=1,format=raw </dev/null >"$log" 2>&1 &
  local pid=$!
  local done_re='UEFI Interactive Shell|Shell>|No bootable option|BdsDxe: failed to load|Boot Manager'
  wait_for "$log" "$done_re" 570 "$pid"
  SECS=$(secs "$t")
  kill "$pid" 2>/dev/null; wait "$pid"; RC=$?
  echo "  QEMU: firmware time to the shell/boot manager: ${SECS}s; debug log $(wc -l < "$dbg") lines"
  check "$log" "QEMU's serial console shows the shell or the boot manager" has "$log" "$done_re"
  tail -5 "$dbg" | cut -c1-200 | sed 's/^/    dbg: /'
  finish "$log"
}

case_errors() {
  begin errors; local log=$WORK/$CASE.log all=$WORK/errors.all
  : > "$all"
  head -c 1000000 "$FW/OVMF_CODE_4M.fd" > "$WORK/cut.fd"
  cp "$FW/OVMF_VARS_4M.fd" "$WORK/vars2.fd"
  err() { # WHAT REGEX ARGS...
    local what=$1 re=$2; shift 2
    run_vm "$log" "$@"
    { echo "## $what (exit $RC)"; cat "$log"; } >> "$all"
    check "$all" "$what: exit 1" test "$RC" = 1
    check "$all" "$what: one line" test "$(wc -l < "$log")" = 1
    check "$all" "$what: says why ($re)" has "$log" "^mesovirt: .*$re"
  }
  err "a truncated firmware file" 'not a whole number of 4 KiB flash blocks' -machine q35 -serial none \
    -drive file="$WORK/cut.fd",if=pflash,unit=0,readonly=on
  err "the variable store as code (no reset vector)" 'not firmware for x86_64' -machine q35 -serial none \
    -drive file="$WORK/vars2.fd",if=pflash,unit=0,readonly=on
  err "-kernel with pflash" 'not supported yet' -machine q35 -serial none -kernel "$IMG/vmlinuz-cloud" \
    -drive file="$FW/OVMF_CODE_4M.fd",if=pflash,unit=0,readonly=on
  sed 's/^/  /' "$all"
  finish "$all"
}

run_cases "uefi tests" "errors shell qemu" "$@"
