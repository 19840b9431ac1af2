#!/bin/bash
# Real-Linux tests of the riscv64 microVM: Debian 13's unmodified riscv64 kernel Image with the busybox test
# initramfs (ci/guest/init.sh), booted by Mesovirt inside the emulated riscv64 KVM host (QEMU 10 TCG, virt with the H
# extension and the AIA; see ci/emulated-host.sh). This exercises what no unit test on an x86 machine can: the
# ONE_REG boot registers and ISA/timer probing, the in-kernel AIA (APLIC + IMSICs) in auto and emul modes, the device
# tree, the UART's interrupts through KVM_IRQ_LINE -> APLIC -> IMSIC, secondary harts started by SBI HSM and SBI SRST
# shutdown ending the VM with exit code 0.
#
# usage: ci/tests/riscv64-boot.sh [CASE...]     (no CASE: all cases: smp2 aia_emul virtio bad_kernel)
# Needs the distribution built first (mvn -B package: cli/target/dist). Outside the emulated host it refreshes the
# guest image (ci/guest-image.sh riscv64) and re-runs itself inside; inside, each case runs bin/mesovirt and checks
# the guest's console markers and the exit code. Prints the nested boot times, ends with "N passed, M failed"; exit
# status 0 only if all pass. A failing case prints the end of its console; MESOVIRT_TEST_VERBOSE=1 prints all.
set -uo pipefail
CASE_TIMEOUT=600
. "$(dirname "$0")/lib.sh"
tests_enter riscv64 "riscv64 tests" "$TESTS_DIR/riscv64-boot.sh" "$@"

# ---- inside the emulated riscv64 host -----------------------------------------------------------------------------
# The JVM under nested software emulation: C1 only and the serial GC start it ~35% faster (measured: a failing
# `mesovirt` run 47 s -> 30 s on a loaded machine) and leave the two host CPUs to the vCPUs sooner.
JOPTS=${MESOVIRT_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData}
export MESOVIRT_JAVA_OPTS=$JOPTS
kernel_time() { tr -d '\r' < "$1" | sed -n 's/^\[ *\([0-9.]*\)\] reboot: Power down.*/\1/p' | tail -1; }

# The guest prints its interrupt lines of the AIA and the UART, and the kernel's own lines about them, through
# ci/guest/init.sh's guest.cmd=<base64>; the console itself is "quiet": under nested emulation every console byte
# is several MMIO exits, and a full boot log costs minutes (and an RCU stall warning) on a loaded machine.
IRQ_CMD=$(printf '%s\n' "grep -i -E 'aplic|imsic|ttyS' /proc/interrupts" \
  "dmesg | grep -E 'riscv-imsic: |riscv-aplic|ttyS0 at MMIO|smp: Brought up|Machine model'" | base64 -w0)

case_smp2() {
  # Two harts, AIA mode auto (KVM picks hwaccel when the host harts have guest interrupt files: aia-guests=7).
  begin smp2; local log=$WORK/$CASE.log
  MESOVIRT_LOG=info run_vm "$log" -machine microvm -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet guest.cmd=$IRQ_CMD" -m 256 -smp 2 -serial stdio
  check "$log" "exit code 0 (SBI SRST shutdown)" test "$RC" = 0
  check "$log" "GUEST-READY" has "$log" '^GUEST-READY'
  check "$log" "GUEST-CPUS 2 (the second hart started through SBI HSM)" has "$log" '^GUEST-CPUS 2$'
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  check "$log" "Debian's riscv64 kernel" has "$log" '^GUEST-KERNEL .*-riscv64'
  check "$log" "the guest found the IMSICs" has "$log" 'riscv-imsic: imsics@28000000: providing IPIs'
  check "$log" "both harts up" has "$log" 'smp: Brought up 1 node, 2 CPUs'
  check "$log" "the device tree's model" has "$log" 'Machine model: mesovirt,microvm'
  check "$log" "the ns16550a from the device tree as ttyS0" has "$log" '10000000.serial: ttyS0 at MMIO 0x10000000'
  check "$log" "/proc/interrupts: ttyS0 on an APLIC source (MSI through the IMSICs)" \
    has "$log" '^ *[0-9]+: .*(APLIC|aplic|IMSIC|imsic).*ttyS0'
  check "$log" "the AIA initialised in auto mode" has "$log" 'KVM AIA initialised: .*mode auto requested, KVM reports auto'
  tr -d '\r' < "$log" | grep -i -E '^ *[0-9]+: .*(aplic|imsic|ttyS)' | sed 's/^/  guest \/proc\/interrupts: /'
  tr -d '\r' < "$log" | grep -E 'KVM AIA initialised|KVM vCPUs:' | sed 's/^.*\] //; s/^/  mesovirt: /'
  echo "  nested guest: ${SECS}s from starting mesovirt to its exit; guest kernel $(kernel_time "$log")s from entry to power-off"
  finish "$log"
}

case_aia_emul() {
  # KVM emulates the IMSICs (no guest interrupt files used): selected with -Dmesovirt.riscv.aia-mode=emul.
  begin aia-emul; local log=$WORK/$CASE.log
  MESOVIRT_LOG=info MESOVIRT_JAVA_OPTS="$JOPTS -Dmesovirt.riscv.aia-mode=emul" run_vm "$log" -machine microvm \
    -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" -append "console=ttyS0 quiet guest.cmd=$IRQ_CMD" \
    -m 256 -smp 1 -serial stdio
  check "$log" "exit code 0 (SBI SRST shutdown)" test "$RC" = 0
  check "$log" "GUEST-READY" has "$log" '^GUEST-READY'
  check "$log" "GUEST-CPUS 1" has "$log" '^GUEST-CPUS 1$'
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  check "$log" "/proc/interrupts: ttyS0 on an APLIC source" has "$log" '^ *[0-9]+: .*(APLIC|aplic|IMSIC|imsic).*ttyS0'
  check "$log" "the AIA in emul mode" has "$log" 'KVM AIA initialised: .*mode emul requested, KVM reports emul'
  tr -d '\r' < "$log" | grep -E 'KVM AIA initialised' | sed 's/^.*\] //; s/^/  mesovirt: /'
  echo "  nested guest (quiet, emul): ${SECS}s from starting mesovirt to its exit"
  finish "$log"
}

case_virtio() {
  # virtio-mmio on riscv64: devices found through the device tree, their interrupts as APLIC sources (MSIs through
  # the IMSICs, raised by irqfd): a read-write disk gets a pattern with conv=fsync that the host checks in the image
  # file, a read-only disk refuses writes, and virtio-rng gives bytes.
  begin virtio; local log=$WORK/$CASE.log
  MESOVIRT_LOG=info dt_virtio_case "$log" MESOVIRT-RISCV64-PATTERN 'grep -i virtio /proc/interrupts' -machine microvm
  check "$log" "virtio interrupts on APLIC sources" has "$log" '^ *[0-9]+: .*(APLIC|aplic|IMSIC|imsic).*virtio'
  tr -d '\r' < "$log" | grep -i -E '^ *[0-9]+: .*virtio' | sed 's/^/  guest \/proc\/interrupts: /'
  echo "  nested guest with virtio: ${SECS}s from starting mesovirt to its exit"
  finish "$log"
}

case_bad_kernel() { dt_bad_kernel_case; }

[ -c /dev/kvm ] || { echo "riscv64 tests: no /dev/kvm"; exit 125; }
run_cases "riscv64 guest tests" "smp2 aia_emul virtio bad_kernel" "$@"
