#!/bin/bash
# Real-Linux tests of the arm64 and riscv64 standard machine (-machine virt): Debian's kernel with the busybox test
# initramfs, booted by Mesovirt inside the emulated arm64 or riscv64 KVM host, with virtio-pci devices behind the
# generic ECAM PCI Express host bridge of the device tree and MSI-X through the in-kernel GICv3 ITS (arm64) or
# straight into the AIA's IMSIC files (riscv64). The harness: ci/tests/lib.sh.
#   devices    -smp 2 -m 512: the guest lists the PCI functions (the host bridge 1b36:0008 as QEMU's virt, modern
#              virtio IDs 0x1040 + type), takes their MSI-X vectors from the ITS or the IMSICs (/proc/interrupts; the
#              device tree's msi-parent on riscv64), writes a pattern to a virtio-blk-pci disk (found in the image
#              after its fsync), reads virtio-rng-pci, pings the host over virtio-net-pci on a TAP; powers off, exit 0.
#              Its script comes on a fourth virtio-blk-pci disk (script_disk): too long for a kernel command line
#              arm64: /sys/class/rtc/rtc0 is the PL031 (rtc-pl031) near the host's clock, and a wakealarm 2 s
#              ahead raises its interrupt
#   hotplug    a pcie-root-port; QMP device_add of a virtio-blk-pci: the guest finds it (pciehp), reads and writes
#              it; device_del: the guest releases it, DEVICE_DELETED; quit, exit 0. Debian's riscv64 kernel has no
#              PCI hot-plug (CONFIG_HOTPLUG_PCI unset): there the guest rescans the bus and removes the function
#              itself through sysfs, and device_del empties the powered-off slot
#   intx       the guest told not to use MSIs (pci=nomsi): the disk and the entropy device on the bridge's INTx
#              lines (GIC SPIs, APLIC sources), level-triggered, through the device tree's interrupt-map
#
# ci/test.sh runs both architectures' cases.
#
# usage: ci/tests/virt.sh aarch64|riscv64 [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=600
ARCH=${1:-}
# MSI_IRQ: how the guest's /proc/interrupts names a PCI MSI-X vector. arm64 names the ITS ("ITS-PCI-MSIX-0000:00:03.0");
# riscv64 only the device ("PCI-MSIX-0000:00:03.0", a per-device domain), so there the device tree's msi-parent of the
# bridge, which the devices case resolves in the guest, shows whose vectors they are: the IMSIC's.
case $ARCH in
  aarch64) MSI_CHIP=ITS MSI_IRQ='ITS-PCI-MSIX?-' ;;
  riscv64) MSI_CHIP=IMSIC MSI_IRQ='PCI-MSIX?-' ;;
  *) echo "usage: $0 aarch64|riscv64 [CASE...]" >&2; exit 2 ;;
esac
shift
. "$(dirname "$0")/lib.sh"
tests_enter "$ARCH" "$ARCH virt tests" "$TESTS_DIR/virt.sh" "$ARCH" "$@"
QMPC=$(dirname "$MESOVIRT")/mesovirt-qmp
b64() { printf '%s' "$1" | base64 -w0; }

GUEST_LIB='dev() { for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "$1" ] && echo /dev/${b##*/}; done; }
pci() { for d in /sys/bus/pci/devices/*; do echo "GUEST-PCI ${d##*/} $(cat $d/vendor):$(cat $d/device) $(cat $d/class)"; done; }
irqs() { grep -E "virtio" /proc/interrupts | sed "s/^ */GUEST-IRQ /"; }
'
PATTERN=MESOVIRT-VIRT-PATTERN-0123456789

# The TAP: the VMM creates it (TUNSETIFF on a new name); the host side gets its address once it exists. The emulated
# host has busybox's ip, which has no netns or tuntap, and runs nothing else.
tap_up_when_created() { # NAME
  local i=0
  until [ -e "/sys/class/net/$1" ] || [ $i -ge 600 ]; do sleep 0.5; i=$((i + 1)); done
  ip addr add 10.0.2.1/24 dev "$1" && ip link set "$1" up
}

# A guest script too long for the kernel command line (riscv64's holds 1023 bytes, the base64 of guest.cmd= included)
# goes on a disk of its own, serial "cmd", which guest.cmd= only sources. The image is padded with newlines (blank
# lines to sh), not zeros, to whole 4 KiB.
script_disk() { # IMAGE SCRIPT
  { printf '%s\n' "$2"; head -c 4096 /dev/zero | tr '\0' '\n'; } | head -c 4096 > "$1"
  [ "${#2}" -lt 4000 ] || { echo "virt.sh: the guest script is over 4000 bytes" >&2; return 1; }
}
SCRIPT_DISK_CMD="$GUEST_LIB"'. $(dev cmd)'
# arm64's PL031: its name and time, then an alarm 2 s ahead (rtc-pl031 programs RTCMR and unmasks it) that must
# raise its interrupt.
RTC_SCRIPT=
[ "$ARCH" = aarch64 ] && RTC_SCRIPT='
echo "GUEST-RTC $(cat /sys/class/rtc/rtc0/name 2>/dev/null) $(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null)"
dmesg | grep -i rtc | head -3 | sed "s/^/GUEST-DMESG /"
echo +2 > /sys/class/rtc/rtc0/wakealarm && sleep 4
awk "/rtc-pl031/ {n = 0; for (i = 2; i < NF; i++) if (\$i ~ /^[0-9]+\$/) n += \$i; else break; print \"GUEST-RTC-ALARMS \" n}" /proc/interrupts'

case_devices() {
  begin devices; local log=$WORK/$CASE.log
  rm -f "$WORK/rw.img"; truncate -s 8M "$WORK/rw.img"
  local script='pci; rw=$(dev disk-rw); echo "GUEST-BLK rw=$rw"
yes '"$PATTERN"' | head -c 1048576 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"
ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
echo "GUEST-MAC $(cat /sys/class/net/eth0/address)"
ping -c 3 -W 5 10.0.2.1 >/tmp/ping 2>&1 && echo GUEST-PING-OK
m=$(find /sys/firmware/devicetree/base -name msi-parent | grep /pcie@ | head -1); echo "GUEST-MSI-PARENT-OF ${m:-none}"
[ -n "$m" ] && p=$(od -An -tx1 $m </dev/null) && for f in $(find /sys/firmware/devicetree/base -name phandle); do
  [ "$(od -An -tx1 $f </dev/null)" = "$p" ] && echo "GUEST-MSI-PARENT ${f%/phandle}"; done
irqs; dmesg | grep -E "ITS|imsic|pci-host-generic" | head -8 | sed "s/^/GUEST-DMESG /"'"$RTC_SCRIPT"
  script_disk "$WORK/cmd.img" "$script" || { check "$log" "a guest script that fits its disk" false; finish "$log"; return; }
  tap_up_when_created mvtap0 &
  local helper=$!
  run_vm "$log" -machine virt -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$SCRIPT_DISK_CMD")" -m 512 -smp 2 -serial stdio \
    -drive id=d0,file="$WORK/rw.img" -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3,serial=disk-rw \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=rng0,bus=pcie.0,addr=0x4 \
    -netdev tap,id=n0,ifname=mvtap0 -device virtio-net-pci,netdev=n0,id=net0,bus=pcie.0,addr=0x5,mac=02:4d:56:00:00:45 \
    -drive id=c0,file="$WORK/cmd.img",readonly=on -device virtio-blk-pci,drive=c0,id=cmd0,bus=pcie.0,addr=0x6,serial=cmd
  kill "$helper" 2>/dev/null; wait "$helper" 2>/dev/null
  check "$log" "exit code 0 (guest power-off)" test "$RC" = 0
  check "$log" "GUEST-CPUS 2" has "$log" '^GUEST-CPUS 2$'
  check "$log" "GUEST-DONE" has "$log" '^GUEST-DONE'
  check "$log" "the host bridge at 00:00.0: Red Hat's PCIe host bridge (1b36:0008, class 060000), as QEMU's virt" \
    has "$log" '^GUEST-PCI 0000:00:00.0 0x1b36:0x0008 0x060000'
  check "$log" "virtio-blk-pci at 00:03.0 (1af4:1042, mass storage)" has "$log" '^GUEST-PCI 0000:00:03.0 0x1af4:0x1042 0x01'
  check "$log" "virtio-rng-pci at 00:04.0 (1af4:1044)" has "$log" '^GUEST-PCI 0000:00:04.0 0x1af4:0x1044 '
  check "$log" "virtio-net-pci at 00:05.0 (1af4:1041, ethernet)" has "$log" '^GUEST-PCI 0000:00:05.0 0x1af4:0x1041 0x0200'
  check "$log" "MSI-X from the $MSI_CHIP for every device (config + queue vectors)" \
    test "$(tr -d '\r' < "$log" | grep -c -E '^GUEST-IRQ .*'"$MSI_IRQ"'.*virtio[0-9]+-(config|req|input|output|virtqueues)')" -ge 6
  [ "$ARCH" = riscv64 ] && check "$log" "the bridge's msi-parent in the device tree is the IMSIC" \
    has "$log" '^GUEST-MSI-PARENT /sys/firmware/devicetree/base/(soc/)?imsics@'
  check "$log" "the guest's write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  yes "$PATTERN" | head -c 1048576 > "$WORK/pattern"; head -c 1048576 "$WORK/rw.img" > "$WORK/rw.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/rw.part" "$WORK/pattern"
  check "$log" "/dev/hwrng gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32'
  check "$log" "the MAC from mac=" has "$log" '^GUEST-MAC 02:4d:56:00:00:45'
  check "$log" "the guest pings the host side of the TAP" has "$log" '^GUEST-PING-OK'
  if [ "$ARCH" = aarch64 ]; then
    # The PL031: rtc-pl031 registered it as rtc0, and it reads the host's clock (within a minute of the host's).
    local rtc; rtc=$(tr -d '\r' < "$log" | sed -n 's/^GUEST-RTC rtc-pl031 [^ ]* \([0-9]*\)$/\1/p' | head -1)
    check "$log" "rtc0 is the PL031 (rtc-pl031), reading the host's time" \
      test -n "$rtc" -a "$(( ${rtc:-0} - $(date +%s) ))" -gt -60 -a "$(( ${rtc:-0} - $(date +%s) ))" -lt 60
    check "$log" "its alarm raised the PL031's interrupt" has "$log" '^GUEST-RTC-ALARMS [1-9]'
  fi
  tr -d '\r' < "$log" | grep -E '^GUEST-(PCI|IRQ|MSI-PARENT|DMESG|RTC)' | sed 's/^/  /'
  finish "$log"
}

case_intx() {
  begin intx; local log=$WORK/$CASE.log
  rm -f "$WORK/rw.img"; truncate -s 8M "$WORK/rw.img"
  local script="$GUEST_LIB"'rw=$(dev disk-rw); echo GUEST-INTX-DATA | dd of=$rw conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"
irqs'
  run_vm "$log" -machine virt -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet pci=nomsi guest.cmd=$(b64 "$script")" -m 512 -smp 1 -serial stdio \
    -drive id=d0,file="$WORK/rw.img" -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3,serial=disk-rw \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=rng0,bus=pcie.0,addr=0x4
  check "$log" "exit code 0 (guest power-off)" test "$RC" = 0
  check "$log" "the guest's write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  check "$log" "the data is in the image" grep -q GUEST-INTX-DATA "$WORK/rw.img"
  check "$log" "/dev/hwrng gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32'
  check "$log" "virtio on level-triggered wired interrupts" has "$log" '^GUEST-IRQ .* Level .*virtio'
  check "$log" "no PCI MSI vector" bash -c "! tr -d '\r' < '$log' | grep -q -E '^GUEST-IRQ .*PCI-MSI'"
  tr -d '\r' < "$log" | grep -E '^GUEST-IRQ' | sed 's/^/  /'
  finish "$log"
}

case_hotplug() {
  begin hotplug; local log=$WORK/$CASE.log sock=$WORK/qmp.sock
  yes MESOVIRT-VIRT-HOTPLUG | head -c 1048576 > "$WORK/hot.img"; truncate -s 4M "$WORK/hot.img"
  rm -f "$WORK/stdin" "$sock"; mkfifo "$WORK/stdin"
  local t; t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -machine virt -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet guest.shell=1" -m 512 -smp 2 -serial stdio -qmp "unix:$sock,server,nowait" \
    -device pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x5 <"$WORK/stdin" >"$log" 2>&1 &
  local pid=$!
  exec 4>"$WORK/stdin"
  wait_line() { # REGEX SECONDS
    local i=0
    until has "$log" "$1"; do
      kill -0 "$pid" 2>/dev/null || return 1
      [ "$i" -ge "$2" ] && return 1
      sleep 1; i=$((i + 1))
    done
  }
  qmp() { # OUT STEP...
    local out=$1; shift
    timeout 180 "$QMPC" "$sock" "$@" > "$out" 2>&1
    sed 's/^/    qmp> /' "$out" | cut -c1-220
  }
  if wait_line '^GUEST-SHELL' 400; then
    printf '%s\n' "$(printf '%s' "$GUEST_LIB")" >&4
    qmp "$WORK/h1" \
      '{"execute":"blockdev-add","arguments":{"node-name":"drive-hot","file":{"driver":"file","filename":"'"$WORK/hot.img"'"},"cache":{"direct":false},"read-only":false}}' \
      '{"execute":"device_add","arguments":{"id":"hot0","driver":"virtio-blk-pci","drive":"drive-hot","bus":"pcie.1","addr":"0x0","serial":"hot-disk"}}'
    check "$log" "device_add on the root port returned" test "$(grep -c '"return": *{}' "$WORK/h1")" -ge 2
    # Debian's riscv64 kernel has no PCI hot-plug at all (CONFIG_HOTPLUG_PCI is not set): without pciehp the guest
    # scans the root port's bus itself, and lets go of the function before device_del (which then finds the slot
    # powered off and empties it at once). The quotes keep the console's echo of the command from matching.
    printf '%s\n' '[ -d /sys/module/pciehp ] || { echo GUEST-NO-"PCIEHP"; echo 1 > /sys/bus/pci/rescan; }' >&4
    printf '%s\n' 'i=0; while [ -z "$(dev hot-disk)" ] && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); done; pci; d=$(dev hot-disk); echo "HOT-READ $d $(head -c 22 $d)"; echo GUEST-WROTE-ON-HOTPLUG | dd of=$d bs=512 seek=4096 conv=fsync 2>/dev/null && echo HOT-WRITE-OK; irqs' >&4
    wait_line '^HOT-WRITE-OK' 150
    check "$log" "the guest found the hot-plugged disk behind the root port and read it" has "$log" '^HOT-READ /dev/vd. MESOVIRT-VIRT-HOTPLUG'
    check "$log" "the guest's write reached the image" grep -q GUEST-WROTE-ON-HOTPLUG "$WORK/hot.img"
    check "$log" "the device is a virtio-blk-pci function on bus 1" has "$log" '^GUEST-PCI 0000:01:00.0 0x1af4:0x1042'
    check "$log" "its MSI-X vectors come from the $MSI_CHIP" has "$log" "^GUEST-IRQ .*$MSI_IRQ.*virtio"
    if [ "$ARCH" = riscv64 ]; then
      check "$log" "riscv64: the guest kernel without pciehp, which the case assumes" has "$log" '^GUEST-NO-PCIEHP'
    else
      check "$log" "$ARCH: the guest's pciehp found the device" bash -c "! tr -d '\r' < '$log' | grep -q '^GUEST-NO-PCIEHP'"
    fi
    if has "$log" '^GUEST-NO-PCIEHP'; then
      printf '%s\n' 'echo 1 > /sys/bus/pci/devices/0000:01:00.0/remove; echo GUEST-"RELEASED"' >&4
      wait_line '^GUEST-RELEASED' 60
    fi
    qmp "$WORK/h2" '{"execute":"device_del","arguments":{"id":"hot0"}}' 'event:DEVICE_DELETED:120' query-block
    check "$log" "DEVICE_DELETED once the guest released the device" grep -q '"event": *"DEVICE_DELETED"' "$WORK/h2"
    printf '%s\n' 'sleep 1; [ -z "$(dev hot-disk)" ] && echo HOT-GONE; pci | grep -c "0000:01:00" | sed "s/^/HOT-FUNCTIONS-ON-BUS1 /"' >&4
    wait_line '^HOT-FUNCTIONS-ON-BUS1' 60
    check "$log" "the disk is gone from the guest" has "$log" '^HOT-GONE'
    check "$log" "no function left on bus 1" has "$log" '^HOT-FUNCTIONS-ON-BUS1 0'
    qmp "$WORK/h3" '{"execute":"blockdev-del","arguments":{"node-name":"drive-hot"}}' quit
  else
    check "$log" "a guest shell" false
  fi
  exec 4>&-
  wait "$pid"; RC=$?; SECS=$(secs "$t")
  check "$log" "exit code 0 after quit" test "$RC" = 0
  finish "$log"
}

run_cases "$ARCH virt tests" "devices intx hotplug" "$@"
