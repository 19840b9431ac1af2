#!/bin/bash
# UEFI on the arm64 standard machine (-machine virt): Debian 12's AAVMF (qemu-efi-aarch64, ci/firmware.sh aarch64) as
# shipped, started from pflash by Mesovirt inside the emulated arm64 KVM host. The harness: ci/tests/lib.sh.
#   shell      AAVMF_CODE.fd (unit 0, read-only, the bank at 0) + a copy of AAVMF_VARS.fd (unit 1, all zeros as
#              shipped: the firmware formats it), -m 512, no disk: vCPU 0 starts at address 0 with the device tree at
#              the start of RAM; the firmware finds the PL011, the flash, fw_cfg, the GIC and the PCI host bridge
#              there. Checks: the firmware's console on the PL011 shows the boot manager starting a boot option, and
#              the UEFI shell or the boot manager's message about nothing to boot. The VM is stopped once seen
#   errors     an x86 OVMF image as unit 0, a variable store that is not whole 256 KiB blocks, -kernel with pflash (the
#              firmware's fw_cfg kernel is x86-only so far): one clear line, exit 1
#   disk       the same firmware and a GPT disk on virtio-blk-pci (ci/uefi-image.sh aarch64: an EFI system partition
#              with Debian's arm64 systemd-boot, the arm64 test guest's kernel and initramfs): AAVMF boots it to the
#              guest's markers; the guest sees /sys/firmware/efi (the kernel's console: the PL011, ttyAMA0) and writes
#              a new non-volatile variable through efivarfs; started again with the same VARS file, the guest finds it
#   acpi       the disk with -machine virt,acpi=on and -smp 2: the firmware installs the machine's ACPI tables (fw_cfg's
#              table-loader) and hands the guest ACPI instead of the device tree; the guest boots to its markers and
#              finds the tables (MADT, GTDT, MCFG, SPCR, IORT, DSDT), both CPUs and the devices of virt.sh's devices
#              case: a disk it writes (the data reaches the file), virtio-rng-pci, virtio-net-pci on a TAP (ping),
#              MSI-X from the ITS
#   reboot     reset through the firmware (ci/uefi-image.sh's reboot.img, whose guest waits for a console line): the
#              guest's reboot (EFI ResetSystem, which AAVMF does with PSCI SYSTEM_RESET), then QMP system_reset, in one
#              VMM: each resets the machine in place (QMP RESET, guest true for the guest's) and AAVMF boots the disk
#              again; then the guest powers off, exit 0
#   qemu-disk  the reference: QEMU's virt (gic-version=3, -cpu host, KVM), the same firmware and disk in the same host
#              (trixie's qemu-system-arm, added to the host's userland), to the same markers (time)
# Firmware-to-marker times are printed for both.
#
# usage: ci/tests/uefi-aarch64.sh [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
# MESOVIRT_HOST_OUT=DIR keeps the shell and disk cases' consoles and VMM logs in DIR; MESOVIRT_UEFI_BOOT_TIMEOUT
# (seconds, default 600) bounds each boot.
set -uo pipefail
CASE_TIMEOUT=900
# A firmware or guest boot that hangs is killed after this long (the emulated arm64 host is slow: TCG under nested
# KVM; the host's own limit, MESOVIRT_HOST_TIMEOUT, is raised below to fit the cases).
BOOT_TIMEOUT=${MESOVIRT_UEFI_BOOT_TIMEOUT:-600}
. "$(dirname "$0")/lib.sh"
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  bash "$TESTS_ROOT/ci/firmware.sh" aarch64 >/dev/null || exit 2
  bash "$TESTS_ROOT/ci/firmware.sh" x86_64 >/dev/null || exit 2
  case " ${*:-disk} " in
    *" disk "*|*" acpi "*|*" reboot "*|*" qemu-disk "*) bash "$TESTS_ROOT/ci/uefi-image.sh" aarch64 >/dev/null || exit 2 ;;
  esac
  case " ${*:-qemu-disk} " in
    *" qemu-disk "*) export MESOVIRT_HOST_EXTRA_PKGS="${MESOVIRT_HOST_EXTRA_PKGS:-} qemu-system-arm" ;;
  esac
  export MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-2400}
fi
tests_enter aarch64 "uefi aarch64 tests" "$TESTS_DIR/uefi-aarch64.sh" "$@"
. "$TESTS_DIR/uefi-lib.sh"
FW=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/firmware/aarch64
X86_FW=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/firmware/x86_64
DISK=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/uefi/aarch64/disk.img
REBOOT_DISK=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/uefi/aarch64/reboot.img
QMPC=$(dirname "$MESOVIRT")/mesovirt-qmp


# keep FILE...: copies a case's logs out of the host when MESOVIRT_HOST_OUT names a directory (ci/emulated-host.sh),
# e.g. the VMM's -D log of a run with MESOVIRT_LOG=debug, which names every MMIO access no device claimed.
keep() { [ -z "${MESOVIRT_HOST_OUT:-}" ] || cp "$@" "$MESOVIRT_HOST_OUT/"; }

console_tail() { # LOG N
  echo "  serial console (last lines):"
  tr -d '\r' < "$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -a -v '^ *$' | tail -"$2" | cut -c1-160 | sed 's/^/    /'
}

DONE_RE='UEFI Interactive Shell|Shell>|No bootable option|BdsDxe: failed to load|Boot Manager'
case_shell() {
  begin aavmf-shell; local log=$WORK/$CASE.log vmm=$WORK/$CASE.vmm.log t
  cp "$FW/AAVMF_VARS.fd" "$WORK/vars.fd"
  t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -machine virt -m 512 -smp 1 -serial stdio -D "$vmm" \
    -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on -drive file="$WORK/vars.fd",if=pflash,unit=1 \
    </dev/null >"$log" 2>&1 &
  local pid=$!
  READY_AT=
  wait_for "$log" "$DONE_RE" "$BOOT_TIMEOUT" "$pid" && READY_AT=$(now)
  SECS=$(secs "$t")
  kill "$pid" 2>/dev/null; wait "$pid"; RC=$?
  echo "  start to the shell/boot manager: ${SECS}s (from the firmware's first instruction $(from_firmware_start "$vmm")s)"
  check "$vmm" "the firmware starts at address 0" grep -q "firmware boot: the vCPUs start at their reset state (0x0)" "$vmm"
  check "$log" "AAVMF's boot manager (BdsDxe) started a boot option" has "$log" 'BdsDxe: (loading|starting) Boot[0-9A-F]{4}'
  check "$log" "the serial console shows the shell or the boot manager" has "$log" "$DONE_RE"
  check "$WORK/vars.fd" "the firmware formatted its variable store (a firmware volume in unit 1)" \
    env LC_ALL=C grep -a -q '_FVH' "$WORK/vars.fd"
  echo "  the VMM's log (last lines):"; tail -15 "$vmm" | cut -c1-200 | sed 's/^/    /'
  console_tail "$log" 15
  keep "$vmm" "$log"
  finish "$log"
}

case_errors() {
  begin aavmf-errors; local log=$WORK/$CASE.log all=$WORK/errors.all
  : > "$all"
  head -c 540672 "$FW/AAVMF_VARS.fd" > "$WORK/small-vars.fd"
  err() { expect_error "$all" "$log" "$@"; } # WHAT REGEX ARGS...
  err "x86 OVMF as unit 0" 'not firmware for aarch64' -machine virt -serial none \
    -drive file="$X86_FW/OVMF_CODE_4M.fd",if=pflash,unit=0,readonly=on
  err "a variable store of 4 KiB blocks" "not a whole number of the virt machine's 256 KiB flash blocks" \
    -machine virt -serial none -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on \
    -drive file="$WORK/small-vars.fd",if=pflash,unit=1
  err "-kernel with pflash (not yet on aarch64)" 'not supported yet' -machine virt -serial none \
    -kernel "$IMG/vmlinuz-generic" -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on
  sed 's/^/  /' "$all"
  finish "$all"
}


# from_firmware_start VMMLOG: seconds from the VMM's "firmware boot" log line (the vCPUs about to start at address 0:
# the JVM's start, slow in this TCG-emulated host, is behind it) to GUEST-READY; "-" if either is missing.
from_firmware_start() {
  local stamp start
  stamp=$(grep -a -m1 'firmware boot: the vCPUs start' "$1" | cut -c1-23)
  [ -n "$stamp" ] && [ -n "$READY_AT" ] || { echo -; return; }
  start=$(date -u -d "$(echo "$stamp" | cut -c1-19 | tr T ' ')" +%s) || { echo -; return; }
  awk -v s="$start.${stamp:20:3}" -v e="$READY_AT" 'BEGIN { printf "%.1f", e - s }'
}

VAR_RE='^GUEST-EFIVAR-WRITTEN written-at-[0-9.]+$'
case_disk() {
  begin aavmf-disk; local log=$WORK/$CASE.log vmm=$WORK/$CASE.vmm.log first second val
  cp "$FW/AAVMF_VARS.fd" "$WORK/dvars.fd"
  local vm=("$MESOVIRT" -machine virt -m 512 -smp 1 -serial stdio -D "$vmm"
    -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on -drive file="$WORK/dvars.fd",if=pflash,unit=1
    -drive id=d0,file="$DISK",readonly=on -device virtio-blk-pci,drive=d0,id=blk0)
  boot_disk disk1 "${vm[@]}"; first=$WORK/disk1.log
  echo "  Mesovirt: start to GUEST-READY ${READY_SECS}s (from the firmware's first instruction" \
    "$(from_firmware_start "$vmm")s), whole run ${SECS}s, exit $RC"
  check "$first" "exit code 0 (the guest powered off)" test "$RC" = 0
  check "$first" "AAVMF's boot manager started the disk's boot option" has "$first" 'BdsDxe: starting Boot[0-9A-F]{4}'
  check "$first" "the guest's init ran (GUEST-READY)" has "$first" '^GUEST-READY'
  check "$first" "the guest sees /sys/firmware/efi (GUEST-EFI 64-bit)" has "$first" '^GUEST-EFI 64-bit$'
  check "$first" "the guest wrote a new EFI variable through efivarfs and read it back" has "$first" "$VAR_RE"
  # The name is UTF-16 in the store; busybox's grep has no -P, so drop the NULs first.
  check "$first" "the variable's name is in the VARS file (the 32-bit bank's buffered writes)" \
    sh -c "tr -d '\\000' < '$WORK/dvars.fd' | grep -a -q MesovirtTest"
  val=$(tr -d '\r' < "$first" | sed -n 's/^GUEST-EFIVAR-WRITTEN //p')
  cp "$vmm" "$WORK/disk1.vmm.log"; rm -f "$vmm"
  boot_disk disk2 "${vm[@]}"; second=$WORK/disk2.log
  echo "  second boot (same VARS file): start to GUEST-READY ${READY_SECS}s (from the firmware's first instruction" \
    "$(from_firmware_start "$vmm")s), whole run ${SECS}s, exit $RC"
  check "$second" "second boot: exit code 0" test "$RC" = 0
  check "$second" "second boot: the guest finds the variable the first wrote (GUEST-EFIVAR-FOUND ${val:-?})" \
    has "$second" "^GUEST-EFIVAR-FOUND ${val:-none}\$"
  { echo "## first boot"; cat "$first"; echo "## second boot"; cat "$second"; echo "## the VMM's log (last lines)"
    tail -40 "$vmm"; } > "$log"
  keep "$WORK/disk1.vmm.log" "$vmm" "$log"
  tr -d '\r' < "$log" | grep -a -E '^(##|GUEST-|BdsDxe)' | sed 's/^/    /'
  finish "$log"
}

# tap_up_when_created NAME: the VMM creates the TAP (TUNSETIFF on a new name); the host side gets its address once it
# exists (the emulated host's busybox ip has no tuntap).
tap_up_when_created() {
  local i=0
  until [ -e "/sys/class/net/$1" ] || [ $i -ge 1200 ]; do sleep 0.5; i=$((i + 1)); done
  ip addr add 10.0.2.1/24 dev "$1" && ip link set "$1" up
}

ACPI_PATTERN=MESOVIRT-ACPI-PATTERN-0123456789
# What the acpi case's guest does after the disk's own script (sourced from the disk with serial "cmd"): the devices
# virt.sh's devices case checks with a device tree, here found through ACPI.
ACPI_SCRIPT='rw=$(for b in /sys/block/vd*; do [ "$(cat $b/serial)" = disk-rw ] && echo /dev/${b##*/}; done)
yes '"$ACPI_PATTERN"' | head -c 1048576 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"
ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
ping -c 3 -W 5 10.0.2.1 >/tmp/ping 2>&1 && echo GUEST-PING-OK
grep -E virtio /proc/interrupts | sed "s/^ */GUEST-IRQ /"
dmesg | grep -E "ACPI: (SPCR|IORT|MCFG)|ITS|ARMH0011" | head -8 | sed "s/^/GUEST-DMESG /"'

case_acpi() {
  begin aavmf-acpi; local log=$WORK/$CASE.log vmm=$WORK/$CASE.vmm.log helper
  cp "$FW/AAVMF_VARS.fd" "$WORK/avars.fd"
  rm -f "$WORK/arw.img"; truncate -s 8M "$WORK/arw.img"
  { printf '%s\n' "$ACPI_SCRIPT"; head -c 4096 /dev/zero | tr '\0' '\n'; } | head -c 4096 > "$WORK/acmd.img"
  tap_up_when_created mvtap1 &
  helper=$!
  boot_disk acpi "$MESOVIRT" -machine virt,acpi=on -m 512 -smp 2 -serial stdio -D "$vmm" \
    -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on -drive file="$WORK/avars.fd",if=pflash,unit=1 \
    -drive id=d0,file="$DISK",readonly=on -device virtio-blk-pci,drive=d0,id=blk0 \
    -drive id=d1,file="$WORK/arw.img" -device virtio-blk-pci,drive=d1,id=blk1,serial=disk-rw \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=rng0 \
    -netdev tap,id=n0,ifname=mvtap1 -device virtio-net-pci,netdev=n0,id=net0,mac=02:4d:56:00:00:46 \
    -drive id=c0,file="$WORK/acmd.img",readonly=on -device virtio-blk-pci,drive=c0,id=cmd0,serial=cmd
  kill "$helper" 2>/dev/null; wait "$helper" 2>/dev/null
  echo "  Mesovirt acpi=on: start to GUEST-READY ${READY_SECS}s (from the firmware's first instruction" \
    "$(from_firmware_start "$vmm")s), whole run ${SECS}s, exit $RC"
  { cat "$WORK/acpi.log"; echo "## the VMM's log (last lines)"; tail -40 "$vmm"; } > "$log"
  check "$log" "exit code 0 (the guest powered off)" test "$RC" = 0
  check "$log" "the guest's init ran (GUEST-READY)" has "$log" '^GUEST-READY'
  check "$log" "the guest sees /sys/firmware/efi" has "$log" '^GUEST-EFI 64-bit$'
  local t
  for t in APIC GTDT MCFG SPCR IORT DSDT FACP; do
    check "$log" "the guest found the $t table" has "$log" "^GUEST-ACPI (.* )?$t "
  done
  check "$log" "both vCPUs are up (the MADT's GICCs, PSCI)" has "$log" '^GUEST-CPUS 2$'
  check "$log" "three disks and six PCI functions (the host bridge, 3 blk, rng, net) through the DSDT's host bridge" \
    has "$log" '^GUEST-DEVICES blk 3 pci 6$'
  check "$log" "the guest wrote its disk (fsync)" has "$log" '^GUEST-BLK-WRITE-OK'
  check "$log" "the pattern is in the disk's file" grep -q "$ACPI_PATTERN" "$WORK/arw.img"
  check "$log" "virtio-rng-pci gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32$'
  check "$log" "the guest pings the host over virtio-net-pci" has "$log" '^GUEST-PING-OK'
  check "$log" "the queues' interrupts are MSI-X from the ITS (the IORT maps the root complex to it)" \
    has "$log" '^GUEST-IRQ .*ITS-PCI-MSIX'
  keep "$vmm" "$log"
  tr -d '\r' < "$log" | grep -a -E '^(GUEST-|BdsDxe)' | cut -c1-160 | sed 's/^/    /'
  finish "$log"
}

# Reset through the firmware: one VMM, three boots of reboot.img (its guest waits for a console line): the guest's
# reboot (Linux asks EFI ResetSystem, which AAVMF does with PSCI SYSTEM_RESET: KVM's reset system event), then QMP
# system_reset; each resets the machine in place and AAVMF runs again from address 0; then the guest powers off.
case_reboot() {
  begin aavmf-reboot; local log=$WORK/$CASE.log vmm=$WORK/$CASE.vmm.log sock=$WORK/reboot.qmp fifo=$WORK/reboot.stdin
  local t t1 t2 t3 pid qpid all=$WORK/$CASE.all j=0 i=0
  cp "$FW/AAVMF_VARS.fd" "$WORK/rvars.fd"
  rm -f "$fifo"; mkfifo "$fifo"
  t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -machine virt -m 512 -smp 1 -serial stdio -D "$vmm" \
    -qmp "unix:$sock,server,nowait" \
    -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on -drive file="$WORK/rvars.fd",if=pflash,unit=1 \
    -drive id=d0,file="$REBOOT_DISK",readonly=on -device virtio-blk-pci,drive=d0,id=blk0 <"$fifo" >"$log" 2>&1 &
  pid=$!
  exec 3>"$fifo"
  # A VMM that dies must fail the checks, not end this script with SIGPIPE at the next console write.
  trap '' PIPE
  wait_count "$log" '^GUEST-WAITING' 1 "$BOOT_TIMEOUT" "$pid"; t1=$(secs "$t")
  timeout $((BOOT_TIMEOUT + 30)) "$QMPC" "$sock" "event:RESET:$BOOT_TIMEOUT" > "$WORK/reboot.q1" 2>&1 &
  qpid=$!
  # The QMP client's JVM takes seconds to start in this host: the guest reboots once it has negotiated.
  until grep -a -q '"return"' "$WORK/reboot.q1" 2>/dev/null || [ "$j" -ge 480 ]; do sleep 0.5; j=$((j + 1)); done
  printf 'reboot\n' >&3
  wait_count "$log" '^GUEST-WAITING' 2 "$BOOT_TIMEOUT" "$pid"; t2=$(secs "$t")
  wait "$qpid"
  timeout 120 "$QMPC" "$sock" system_reset > "$WORK/reboot.q2" 2>&1
  wait_count "$log" '^GUEST-WAITING' 3 "$BOOT_TIMEOUT" "$pid"; t3=$(secs "$t")
  printf 'poweroff\n' >&3
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 240 ]; do sleep 1; i=$((i + 1)); done
  kill "$pid" 2>/dev/null; wait "$pid"; RC=$?
  exec 3>&-
  trap - PIPE
  SECS=$(secs "$t")
  echo "  to GUEST-WAITING: first boot ${t1}s; after the guest's reboot ${t2}s; after system_reset ${t3}s;" \
    "exit after ${SECS}s"
  { echo "## console"; cat "$log"; echo "## QMP during the guest's reboot"; cat "$WORK/reboot.q1"
    echo "## QMP system_reset"; cat "$WORK/reboot.q2"; echo "## the VMM's log"; tail -40 "$vmm"; } > "$all"
  check "$all" "exit code 0 (the guest powered off after the third boot)" test "$RC" = 0
  check "$all" "AAVMF's boot manager started the disk three times" \
    test "$(count_of "$log" 'BdsDxe: starting Boot[0-9A-F]{4}')" = 3
  check "$all" "the guest reached GUEST-READY three times" test "$(count_of "$log" 'GUEST-READY')" = 3
  check "$all" "every boot was through UEFI (GUEST-EFI 64-bit three times)" \
    test "$(count_of "$log" '^GUEST-EFI 64-bit$')" = 3
  check "$all" "the guest rebooted itself once" test "$(count_of "$log" '^GUEST-REBOOTING$')" = 1
  check "$all" "the VMM reset the machine in place for the guest" grep -a -q 'the guest asked for a reset' "$vmm"
  check "$all" "two resets, each a new VM whose vCPU starts at address 0" \
    test "$(grep -a -c 'machine reset: new VM, 1 vCPUs restart at 0x0' "$vmm")" = 2
  check "$all" "QMP: RESET with guest true, reason guest-reset" \
    grep -a -q '"event": *"RESET".*"guest": *true.*"reason": *"guest-reset"' "$WORK/reboot.q1"
  check "$all" "QMP: system_reset's RESET with guest false" grep -a -q '"event": *"RESET".*"guest": *false' "$WORK/reboot.q2"
  tr -d '\r' < "$log" | grep -a -E '^(GUEST-(READY|WAITING|GOT|REBOOTING|EFI)|BdsDxe: starting)' | sed 's/^/    /'
  finish "$all"
}

case_qemu-disk() {
  begin qemu-aavmf-disk; local log=$WORK/$CASE.log
  command -v qemu-system-aarch64 >/dev/null || { echo "  no qemu-system-aarch64 in the host (MESOVIRT_HOST_EXTRA_PKGS)"; CASE_OK=0; finish /dev/null; return; }
  cp "$FW/AAVMF_VARS.fd" "$WORK/qdvars.fd"
  boot_disk qdisk qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host -m 512 -smp 1 -nodefaults \
    -display none -serial stdio \
    -drive file="$FW/AAVMF_CODE.fd",if=pflash,unit=0,readonly=on,format=raw \
    -drive file="$WORK/qdvars.fd",if=pflash,unit=1,format=raw \
    -drive id=d0,file="$DISK",if=none,format=raw,readonly=on -device virtio-blk-pci,drive=d0
  cp "$WORK/qdisk.log" "$log"
  echo "  QEMU: start to GUEST-READY ${READY_SECS}s, whole run ${SECS}s, exit $RC"
  check "$log" "QEMU: exit code 0" test "$RC" = 0
  check "$log" "QEMU: the guest sees /sys/firmware/efi" has "$log" '^GUEST-EFI 64-bit$'
  finish "$log"
}

run_cases "uefi aarch64 tests" "errors shell disk acpi reboot qemu-disk" "$@"
