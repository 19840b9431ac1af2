#!/bin/bash
# Real-Linux tests of the x86_64 standard machine (-machine q35): unmodified Debian kernels with the busybox test
# initramfs, booted by Mesovirt inside the emulated x86_64 KVM host, with virtio-pci devices behind the PCI Express
# host bridge (ECAM, MSI-X) and a PCIe root port for native hot-plug (pciehp). The harness: ci/tests/lib.sh.
#   devices, devices_generic    the cloud and the generic kernel, -smp 2 -m 512: the guest lists the PCI functions
#              (the host bridge, modern virtio IDs
#              0x1040 + type), uses MSI-X for them (/proc/interrupts), writes a pattern to a virtio-blk-pci disk
#              (found in the image after its fsync), reads virtio-rng-pci, pings over virtio-net-pci on a TAP, and
#              exchanges a line over virtio-serial-pci + virtconsole with a UNIX socket; powers off, exit 0
#   memory_4g  generic kernel, -m 4G: RAM below and above the PCI hole, MemTotal as asked, the disk again
#   intx       the guest told not to use MSIs (pci=nomsi): INTx through the DSDT's _PRT and link devices, level-
#              triggered on IOAPIC pins 16-19, for the disk and the entropy device
#   hotplug    two pcie-root-ports; QMP device_add of a virtio-blk-pci and a virtio-net-pci: the guest finds them
#              (pciehp), reads and writes the disk, sees the NIC; device_del: the guest releases the disk (attention
#              button, slot powered off), DEVICE_DELETED
#   fs         virtio-fs (vhost-user-fs-pci, -machine mem-share=on) with a real virtiofsd: the guest mounts the tag,
#              reads a host file, writes files that appear on the host
#   errors     bad device placements on the command line: one clear line and exit 1 each
#
# usage: ci/tests/q35.sh [CASE...]     (no CASE: all)      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=600
. "$(dirname "$0")/lib.sh"
# -m 4G needs a host with more than that (the VMM refuses more RAM than its host has); QEMU maps the emulated host's
# RAM lazily, so a larger one costs only what the guests touch.
export MESOVIRT_HOST_MEM=${MESOVIRT_HOST_MEM:-6G}
tests_enter x86_64 "q35 tests" "$TESTS_DIR/q35.sh" "$@"
export PATH=$PATH:/usr/sbin:/sbin
QMPC=$(dirname "$MESOVIRT")/mesovirt-qmp
b64() { printf '%s' "$1" | base64 -w0; }

# Guest side: the disk with a serial; the PCI functions; the MSI and MSI-X interrupts of virtio.
GUEST_LIB='dev() { for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "$1" ] && echo /dev/${b##*/}; done; }
pci() { for d in /sys/bus/pci/devices/*; do echo "GUEST-PCI ${d##*/} $(cat $d/vendor):$(cat $d/device) $(cat $d/class)"; done; }
irqs() { grep -E "PCI-MSI" /proc/interrupts | sed "s/^ */GUEST-IRQ /"; }
'
PATTERN=MESOVIRT-Q35-PATTERN-0123456789
pattern() { yes "$PATTERN" | head -c 1048576; }

q35_markers() { # LOG CPUS
  check "$1" "exit code 0 (guest power-off)" test "$RC" = 0
  check "$1" "GUEST-READY" has "$1" '^GUEST-READY'
  check "$1" "GUEST-CPUS $2" has "$1" "^GUEST-CPUS $2\$"
  check "$1" "GUEST-DONE" has "$1" '^GUEST-DONE'
  check "$1" "the q35 host bridge at 00:00.0 (8086:29c0, class 060000)" has "$1" '^GUEST-PCI 0000:00:00.0 0x8086:0x29c0 0x060000'
}

case_devices() { devices_with cloud; }
case_devices_generic() { devices_with generic; }

devices_with() { # FLAVOUR
  local flavour=$1
  begin "devices-$flavour"; local log=$WORK/$CASE.log ns=mvq35$$ sock=$WORK/console-$flavour.sock
  rm -f "$WORK/rw.img"
  truncate -s 8M "$WORK/rw.img"
  tap_namespace "$ns"
  local script="$GUEST_LIB"'pci; rw=$(dev disk-rw); echo "GUEST-BLK rw=$rw"
yes '"$PATTERN"' | head -c 1048576 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"
ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up
echo "GUEST-MAC $(cat /sys/class/net/eth0/address)"
ping -c 3 -W 5 10.0.2.1 >/tmp/ping 2>&1 && echo GUEST-PING-OK
exec 3<>/dev/hvc0; stty -F /dev/hvc0 -echo 2>/dev/null; echo GUEST-HVC-OPEN
read -r l <&3; echo "GUEST-HVC-GOT $l"; echo "back:$l" >&3; sleep 1
irqs'
  local t; t=$(now)
  # The TAP lives in the namespace, so mesovirt runs there (the console socket is a file: visible from both).
  ip netns exec "$ns" timeout "$CASE_TIMEOUT" "$MESOVIRT" -machine q35 -kernel "$IMG/vmlinuz-$flavour" \
    -initrd "$IMG/initrd-$flavour.gz" -append "console=ttyS0 quiet guest.cmd=$(b64 "$script")" -m 512 -smp 2 \
    -serial stdio \
    -drive id=d0,file="$WORK/rw.img" -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3,serial=disk-rw \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=rng0,bus=pcie.0,addr=0x4 \
    -netdev tap,id=n0,ifname=tap0 -device virtio-net-pci,netdev=n0,id=net0,bus=pcie.0,addr=0x5,mac=02:4d:56:00:00:35 \
    -chardev socket,id=c0,path="$sock",server,nowait -device virtio-serial-pci,id=vs0,bus=pcie.0,addr=0x6 \
    -device virtconsole,chardev=c0,id=con0,nr=0 </dev/null >"$log" 2>&1 &
  local pid=$!
  /usr/bin/python3 - "$sock" "$log" >"$WORK/console.out" 2>&1 <<'PY'
import socket, sys, time
sock_path, log = sys.argv[1], sys.argv[2]
deadline = time.time() + 500
s = None
while time.time() < deadline and s is None:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock_path)
    except OSError:
        s = None; time.sleep(0.5)
while s and time.time() < deadline and "GUEST-HVC-OPEN" not in open(log, errors="replace").read():
    time.sleep(0.5)
got = b""
if s:
    s.sendall(b"hello-over-pci\n")
    s.settimeout(1)
    while time.time() < deadline and b"back:hello-over-pci" not in got:
        try:
            d = s.recv(4096)
            if not d:
                break
            got += d
        except socket.timeout:
            pass
print("HOST-RECEIVED", got.decode(errors="replace").strip())
PY
  wait "$pid"; RC=$?; SECS=$(secs "$t")
  cat "$WORK/console.out" >>"$log"
  ip netns del "$ns" 2>/dev/null
  q35_markers "$log" 2
  check "$log" "Debian's $flavour kernel" has "$log" "^GUEST-KERNEL .*-$([ "$flavour" = cloud ] && echo cloud-)amd64"
  check "$log" "virtio-blk-pci at 00:03.0 (1af4:1042, mass storage)" has "$log" '^GUEST-PCI 0000:00:03.0 0x1af4:0x1042 0x01'
  check "$log" "virtio-rng-pci at 00:04.0 (1af4:1044)" has "$log" '^GUEST-PCI 0000:00:04.0 0x1af4:0x1044 '
  check "$log" "virtio-net-pci at 00:05.0 (1af4:1041, ethernet)" has "$log" '^GUEST-PCI 0000:00:05.0 0x1af4:0x1041 0x0200'
  check "$log" "virtio-serial-pci at 00:06.0 (1af4:1043)" has "$log" '^GUEST-PCI 0000:00:06.0 0x1af4:0x1043 '
  check "$log" "MSI-X for every device (virtio config + queue vectors)" \
    test "$(tr -d '\r' < "$log" | grep -c -E '^GUEST-IRQ .*PCI-MSI.*virtio[0-9]+-(config|req|input|output|virtqueues|control)')" -ge 8
  check "$log" "the guest's write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  pattern > "$WORK/pattern"; head -c 1048576 "$WORK/rw.img" > "$WORK/rw.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/rw.part" "$WORK/pattern"
  check "$log" "/dev/hwrng gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32'
  check "$log" "the MAC from mac=" has "$log" '^GUEST-MAC 02:4d:56:00:00:35'
  check "$log" "the guest pings the host side of the TAP" has "$log" '^GUEST-PING-OK'
  check "$log" "the guest read the line from /dev/hvc0" has "$log" '^GUEST-HVC-GOT hello-over-pci'
  check "$log" "the host got the guest's answer on the socket" has "$WORK/console.out" 'back:hello-over-pci'
  tr -d '\r' < "$log" | grep -E '^GUEST-(PCI|IRQ)' | sed 's/^/  /'
  finish "$log"
}

# The guest sums the "System RAM" ranges of its firmware memory map and shows the one above 4 GiB.
MEM_SCRIPT='t=0; for d in /sys/firmware/memmap/*; do [ "$(cat $d/type)" = "System RAM" ] || continue
t=$((t + ($(cat $d/end) - $(cat $d/start) + 1) / 1024)); echo "GUEST-RAM-RANGE $(cat $d/start) $(cat $d/end)"; done
echo "GUEST-RAM-KB $t"'

case_memory_4g() {
  begin memory-4g; local log=$WORK/$CASE.log
  truncate -s 8M "$WORK/rw4.img"
  local script="$GUEST_LIB$MEM_SCRIPT"'
pci; rw=$(dev disk-rw); yes '"$PATTERN"' | head -c 1048576 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
irqs'
  run_vm "$log" -machine q35 -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" \
    -append "console=ttyS0 quiet guest.cmd=$(b64 "$script")" -m 4G -smp 2 -serial stdio \
    -drive id=d0,file="$WORK/rw4.img" -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x2,serial=disk-rw \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=rng0,bus=pcie.0,addr=0x3
  q35_markers "$log" 2
  local kb; kb=$(tr -d '\r' < "$log" | sed -n 's/^GUEST-RAM-KB //p')
  echo "  firmware memory map: ${kb:-?} KiB of System RAM"; tr -d '\r' < "$log" | grep '^GUEST-RAM-RANGE' | sed 's/^/  /'
  # 4 GiB less the legacy holes below 1 MiB (the e820 map keeps 0x9fc00-0xfffff for the BIOS areas).
  check "$log" "4 GiB of RAM in the memory map, less the legacy holes (got ${kb:-?} KiB)" \
    test "${kb:-0}" -ge $((4 * 1024 * 1024 - 1024)) -a "${kb:-0}" -le $((4 * 1024 * 1024))
  check "$log" "RAM above 4 GiB" has "$log" '^GUEST-RAM-RANGE 0x0*100000000 '
  check "$log" "the generic kernel" has "$log" 'GUEST-KERNEL .*-amd64'
  check "$log" "the guest's write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  pattern > "$WORK/pattern"; head -c 1048576 "$WORK/rw4.img" > "$WORK/rw4.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/rw4.part" "$WORK/pattern"
  check "$log" "MSI-X vectors for virtio" has "$log" '^GUEST-IRQ .*PCI-MSI.*virtio'
  finish "$log"
}

case_intx() {
  begin intx; local log=$WORK/$CASE.log
  truncate -s 8M "$WORK/intx.img"
  local script="$GUEST_LIB"'pci; rw=$(dev disk-rw); yes '"$PATTERN"' | head -c 1048576 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"
grep -E "IO-APIC.*virtio" /proc/interrupts | sed "s/^ */GUEST-INTX /"; irqs'
  run_vm "$log" -machine q35 -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet pci=nomsi guest.cmd=$(b64 "$script")" -m 512 -smp 2 -serial stdio \
    -drive id=d0,file="$WORK/intx.img" -device virtio-blk-pci,drive=d0,id=blk0,bus=pcie.0,addr=0x3,serial=disk-rw \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=rng0,bus=pcie.0,addr=0x4
  q35_markers "$log" 2
  check "$log" "the guest's write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  pattern > "$WORK/pattern"; head -c 1048576 "$WORK/intx.img" > "$WORK/intx.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/intx.part" "$WORK/pattern"
  check "$log" "/dev/hwrng gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32'
  # The swizzle: device 3's INTA is INTD (GSI 19), device 4's is INTA (GSI 16); level-triggered (fasteoi).
  check "$log" "the disk on IOAPIC pin 19, level (00:03.0's INTA through the _PRT's link GSID)" \
    has "$log" '^GUEST-INTX [0-9]+: .*IO-APIC +19-fasteoi +virtio'
  check "$log" "the entropy device on IOAPIC pin 16, level (00:04.0's INTA through GSIA)" \
    has "$log" '^GUEST-INTX [0-9]+: .*IO-APIC +16-fasteoi +virtio'
  check "$log" "no MSIs" test "$(tr -d '\r' < "$log" | grep -c '^GUEST-IRQ ')" = 0
  tr -d '\r' < "$log" | grep '^GUEST-INTX' | sed 's/^/  /'
  finish "$log"
}

case_hotplug() {
  begin hotplug; local log=$WORK/$CASE.log sock=$WORK/qmp.sock
  yes MESOVIRT-Q35-HOTPLUG | head -c 1048576 > "$WORK/hot.img"; truncate -s 4M "$WORK/hot.img"
  rm -f "$WORK/stdin"; mkfifo "$WORK/stdin"
  local t; t=$(now)
  timeout "$CASE_TIMEOUT" "$MESOVIRT" -machine q35 -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" \
    -append "console=ttyS0 quiet guest.shell=1" -m 512 -smp 2 -serial stdio -qmp "unix:$sock,server,nowait" \
    -device pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x5 \
    -device pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x6 <"$WORK/stdin" >"$log" 2>&1 &
  local pid=$!
  exec 4>"$WORK/stdin"
  wait_line() { # REGEX SECONDS
    local i=0
    until tr -d '\r' < "$log" | grep -q -E -- "$1"; do
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
    # pciehp enumerates the slot by itself; no re-probe needed.
    printf '%s\n' 'i=0; while [ -z "$(dev hot-disk)" ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; pci; d=$(dev hot-disk); echo "HOT-READ $d $(head -c 20 $d)"; echo GUEST-WROTE-ON-HOTPLUG | dd of=$d bs=512 seek=4096 conv=fsync 2>/dev/null && echo HOT-WRITE-OK; irqs' >&4
    wait_line '^HOT-WRITE-OK' 120
    check "$log" "the guest found the hot-plugged disk behind the root port and read it" has "$log" '^HOT-READ /dev/vd. MESOVIRT-Q35-HOTPLUG'
    check "$log" "the guest's write reached the image" grep -q GUEST-WROTE-ON-HOTPLUG "$WORK/hot.img"
    check "$log" "the device is a virtio-blk-pci function on bus 1" has "$log" '^GUEST-PCI 0000:01:00.0 0x1af4:0x1042'
    ip tuntap add dev mvhot0 mode tap 2>/dev/null
    qmp "$WORK/h1n" '{"execute":"netdev_add","arguments":{"id":"net-hot","ifname":"mvhot0"}}' \
      '{"execute":"device_add","arguments":{"id":"nic0","driver":"virtio-net-pci","netdev":"net-hot","bus":"pcie.2","addr":"0x0","mac":"02:4d:56:00:00:36"}}'
    printf '%s\n' 'i=0; while ! grep -q 02:4d:56:00:00:36 /sys/class/net/*/address 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; for n in /sys/class/net/*; do [ "$(cat $n/address)" = 02:4d:56:00:00:36 ] && echo "HOT-NIC ${n##*/} $(readlink -f $n/device | sed "s|.*/||")"; done' >&4
    wait_line '^HOT-NIC ' 90
    check "$log" "the hot-plugged virtio-net-pci behind the second root port is a NIC in the guest" \
      has "$log" '^HOT-NIC [a-z0-9]+ virtio[0-9]+'
    qmp "$WORK/h2" '{"execute":"device_del","arguments":{"id":"hot0"}}' 'event:DEVICE_DELETED:90' query-block
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

case_errors() {
  begin errors; local log=$WORK/$CASE.log all=$WORK/errors.all
  : > "$all"
  truncate -s 1M "$WORK/e.img"
  local k=(-machine q35 -kernel "$IMG/vmlinuz-cloud" -m 256 -serial none -drive id=d0,file="$WORK/e.img")
  err() { expect_error "$all" "$log" "$@"; } # WHAT REGEX ARGS...
  err "a BDF already in use" 'pcie\.0 03\.0 is already in use' "${k[@]}" -device virtio-blk-pci,drive=d0,id=b0,bus=pcie.0,addr=0x3 \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-pci,rng=r0,id=r1,bus=pcie.0,addr=0x3
  err "a bus that does not exist" 'pcie\.7' "${k[@]}" -device virtio-blk-pci,drive=d0,id=b0,bus=pcie.7,addr=0x3
  err "a device number out of range" '0x20|32' "${k[@]}" -device virtio-blk-pci,drive=d0,id=b0,bus=pcie.0,addr=0x20
  err "a second device on a root port's one slot" 'slot|device 0' "${k[@]}" \
    -device pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x5 -device virtio-blk-pci,drive=d0,id=b0,bus=pcie.1,addr=0x1
  err "a virtio-mmio device on q35" 'virtio-blk-device' "${k[@]}" -device virtio-blk-device,drive=d0,id=b0
  err "a virtio-pci device on the microVM" 'virtio-blk-pci' -machine microvm -kernel "$IMG/vmlinuz-cloud" -m 256 \
    -serial none -drive id=d0,file="$WORK/e.img" -device virtio-blk-pci,drive=d0,id=b0,bus=pcie.0,addr=0x3
  sed 's/^/  /' "$all"
  finish "$all"
}

# virtio-fs on virtio-pci: a real virtiofsd shares a directory through vhost-user-fs-pci, its queues on MSI-X;
# guest RAM shared StratoVirt's way (-machine mem-share=on).
case_fs() {
  begin virtio-fs-pci; local log=$WORK/$CASE.log dir=$WORK/shared sock=$WORK/vfs.sock
  virtiofsd_start "$dir" "$sock" "$WORK/virtiofsd.log"
  run_vm "$log" -machine q35,mem-share=on -kernel "$IMG/vmlinuz-cloud" -initrd "$IMG/initrd-cloud.gz" -m 512 -smp 2 \
    -serial stdio -D "$WORK/vmm.log" -append "console=ttyS0 quiet guest.cmd=$(b64 "$GUEST_LIB$FS_GUEST"'pci; irqs')" \
    -chardev socket,id=vfs,path="$sock" -device vhost-user-fs-pci,id=fs0,chardev=vfs,tag=myfs,bus=pcie.0,addr=0x5
  q35_markers "$log" 2
  check "$log" "virtio-fs at 00:05.0 (1af4:105a: 0x1040 + 26)" has "$log" '^GUEST-PCI 0000:00:05.0 0x1af4:0x105a '
  check "$log" "MSI-X vectors for its queues" has "$log" '^GUEST-IRQ .*PCI-MSI.*virtio.*-(hiprio|requests)'
  fs_checks "$log" "$dir"
  finish "$log"
}

run_cases "q35 tests" "errors devices devices_generic memory_4g intx hotplug fs" "$@"
