#!/bin/bash
# Real-Linux tests of the aarch64 microVM: Debian 13's unmodified arm64 kernel Image with the busybox test initramfs
# (ci/guest/init.sh), booted by Mesovirt inside the emulated arm64 KVM host (QEMU TCG, virt with EL2 and a GICv3;
# see ci/emulated-host.sh). This exercises what no unit test on an x86 machine can: KVM_ARM_VCPU_INIT with PSCI 0.2,
# the in-kernel vGICv3, ONE_REG boot registers, the device tree, SPIs through KVM_IRQ_LINE, secondary vCPUs started
# by PSCI CPU_ON and PSCI SYSTEM_OFF ending the VM with exit code 0.
#
# usage: ci/tests/aarch64-boot.sh [CASE...]     (no CASE: all cases: smp2 smp1_512m_quiet reboot bad_kernel)
# Needs the distribution built first (mvn -B package: cli/target/dist) and qemu-system-aarch64 (apt-get install
# qemu-system-arm). Outside the emulated host it refreshes the guest image (ci/guest-image.sh aarch64) and re-runs
# itself inside; inside, each case runs bin/mesovirt and checks the guest's console markers and the exit code.
# Prints the nested boot times, ends with "N passed, M failed"; exit status 0 only if all pass. A failing case prints
# the end of its console; MESOVIRT_TEST_VERBOSE=1 prints every case's whole console.
set -uo pipefail
CASE_TIMEOUT=600
. "$(dirname "$0")/lib.sh"
tests_enter aarch64 "aarch64 tests" "$TESTS_DIR/aarch64-boot.sh" "$@"

# ---- inside the emulated arm64 host -------------------------------------------------------------------------------

case_smp2() {
  # The README's command, verbatim.
  begin smp2; local log=$WORK/$CASE.log
  MESOVIRT_LOG=info run_vm "$log" -machine microvm -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0" -m 256 -smp 2 -serial stdio
  check "$log" "exit code 0 (PSCI SYSTEM_OFF)" test "$RC" = 0
  check "$log" "GUEST-READY" has "$log" '^GUEST-READY'
  check "$log" "GUEST-CPUS 2 (the secondary started through PSCI CPU_ON)" has "$log" '^GUEST-CPUS 2$'
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  check "$log" "Debian's arm64 kernel" has "$log" '^GUEST-KERNEL .*-arm64'
  check "$log" "the device tree's machine model" has "$log" 'Machine model: linux,dummy-virt'
  check "$log" "the ns16550a from the device tree as ttyS0" has "$log" '9000000.uart: ttyS0 at MMIO 0x9000000'
  # Kernel time stamps of the guest: first line to power-off.
  local k; k=$(tr -d '\r' < "$log" | sed -n 's/^\[ *\([0-9.]*\)\] reboot: Power down.*/\1/p' | tail -1)
  echo "  nested guest: ${SECS}s from starting mesovirt to its exit; guest kernel ${k:-?}s from entry to power-off"
  tr -d '\r' < "$log" | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' | sed 's/^/  mesovirt log: /'

  finish "$log"
}

case_smp1_512m_quiet() {
  # One vCPU, more memory, a quiet kernel: the boot time without the console's cost (every byte the guest prints is
  # an MMIO exit to Mesovirt, which under nested emulation costs milliseconds).
  begin smp1-512m-quiet; local log=$WORK/$CASE.log
  run_vm "$log" -machine microvm -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet" -m 512 -smp 1 -serial stdio
  check "$log" "exit code 0 (PSCI SYSTEM_OFF)" test "$RC" = 0
  check "$log" "GUEST-READY" has "$log" '^GUEST-READY'
  check "$log" "GUEST-CPUS 1" has "$log" '^GUEST-CPUS 1$'
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  # MemTotal is RAM minus what the kernel keeps for itself (its ~40 MiB image among it): 85-100% of 512 MiB.
  local kb; kb=$(tr -d '\r' < "$log" | sed -n 's/^GUEST-MEMKB \([0-9]*\).*/\1/p')
  check "$log" "GUEST-MEMKB within 85-100% of 524288 kB (got ${kb:-none})" \
    awk -v k="${kb:-0}" 'BEGIN { exit !(k > 0.85 * 524288 && k <= 524288) }'
  echo "  nested guest (quiet): ${SECS}s from starting mesovirt to its exit"
  finish "$log"
}

case_reboot() {
  # reboot -f is PSCI SYSTEM_RESET, a KVM_EXIT_SYSTEM_EVENT of type RESET: the microVM stops (exit 0), as a reboot does.
  begin reboot; local log=$WORK/$CASE.log
  MESOVIRT_LOG=info run_vm "$log" -machine microvm -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet guest.reboot=1" -m 256 -smp 1 -serial stdio
  check "$log" "exit code 0 (a reboot stops the microVM)" test "$RC" = 0
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  check "$log" "stopped as rebooted" has "$log" 'machine stopped: Rebooted'
  finish "$log"
}

case_bad_kernel() { dt_bad_kernel_case; }

[ -c /dev/kvm ] || { echo "aarch64 tests: no /dev/kvm"; exit 125; }
run_cases "aarch64 guest tests" "smp2 smp1_512m_quiet reboot bad_kernel" "$@"
