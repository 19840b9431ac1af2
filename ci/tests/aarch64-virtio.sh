#!/bin/bash
# Smoke test of Mesovirt's virtio-mmio devices on arm64 (device-tree discovery, edge-triggered SPIs with a plain
# irqfd): one boot of Debian's arm64 kernel in the emulated arm64 KVM host with a read-write disk, a read-only disk
# and an entropy device (a pattern written by the guest and found in the image). ci/tests/x86_64-virtio.sh is the
# full device set. The harness: ci/tests/lib.sh.
#
# usage: ci/tests/aarch64-virtio.sh      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=600
. "$(dirname "$0")/lib.sh"
tests_enter aarch64 "aarch64 virtio tests" "$TESTS_DIR/aarch64-virtio.sh" "$@"

case_blk_rng() {
  begin arm64-virtio; local log=$WORK/$CASE.log
  truncate -s 8M "$WORK/rw.img"; truncate -s 4M "$WORK/ro.img"
  yes MESOVIRT-ARM64-PATTERN | head -c 65536 > "$WORK/pattern"
  local script='dev() { for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "$1" ] && echo /dev/${b##*/}; done; }
rw=$(dev disk-rw); ro=$(dev disk-ro); echo "GUEST-BLK rw=$rw ro=$ro"
yes MESOVIRT-ARM64-PATTERN | head -c 65536 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
if echo x | dd of=$ro conv=fsync 2>/dev/null; then echo GUEST-RO-WRITE-SUCCEEDED; else echo GUEST-RO-WRITE-FAILED; fi
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"'
  run_vm "$log" -kernel "$IMG/vmlinuz-generic" -initrd "$IMG/initrd-generic.gz" -m 256 -serial stdio \
    -append "console=ttyS0 quiet guest.cmd=$(printf '%s' "$script" | base64 -w0)" \
    -drive id=d0,file="$WORK/rw.img" -device virtio-blk-device,drive=d0,id=blk0,serial=disk-rw \
    -drive id=d1,file="$WORK/ro.img",readonly=on -device virtio-blk-device,drive=d1,id=blk1,serial=disk-ro \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-device,rng=r0,id=rng0
  check "$log" "exit code 0" test "$RC" = 0
  check "$log" "disks found by serial" has "$log" 'GUEST-BLK rw=/dev/vd. ro=/dev/vd.'
  check "$log" "guest write with conv=fsync" has "$log" '^GUEST-BLK-WRITE-OK'
  head -c 65536 "$WORK/rw.img" > "$WORK/rw.part"
  check "$log" "the pattern is in the image" cmp -s "$WORK/rw.part" "$WORK/pattern"
  check "$log" "readonly=on write failed" has "$log" '^GUEST-RO-WRITE-FAILED'
  check "$log" "/dev/hwrng gave 32 bytes" has "$log" '^GUEST-RNG-BYTES 32'
  finish "$log"
}

run_cases "aarch64 virtio tests" "blk_rng" "$@"
