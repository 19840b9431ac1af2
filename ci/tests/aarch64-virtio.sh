#!/bin/bash
# Smoke test of Mesovirt's virtio-mmio devices on arm64 (device-tree discovery, edge-triggered SPIs with a plain
# irqfd): one boot of Debian's arm64 kernel in the emulated arm64 KVM host with a read-write disk, a read-only disk
# and an entropy device (the virtio-blk pattern write/verify of the arm64 issue). ci/tests/x86_64-virtio.sh is the
# full device set.
#
# usage: ci/tests/aarch64-virtio.sh      Ends with "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MESOVIRT=${MESOVIRT_BIN:-$ROOT/cli/target/dist/bin/mesovirt}
CASE_TIMEOUT=${MESOVIRT_CASE_TIMEOUT:-600}

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "aarch64 virtio tests: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" aarch64 >/dev/null || exit 2
  exec bash "$ROOT/ci/emulated-host.sh" aarch64 "$HERE/aarch64-virtio.sh" "$@"
fi

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/aarch64
WORK=$(mktemp -d /tmp/mesovirt-virtio.XXXXXX)
KERNEL=$(ls "$IMG"/vmlinuz* "$IMG"/Image* 2>/dev/null | head -1)
INITRD=$(ls "$IMG"/initrd*.gz 2>/dev/null | head -1)
has() { tr -d '\r' < "$1" | grep -q -- "$2"; }
OK=1
check() { if ! "${@:2}"; then OK=0; echo "  expected: $1"; fi; }

truncate -s 8M "$WORK/rw.img"; truncate -s 4M "$WORK/ro.img"
yes MESOVIRT-ARM64-PATTERN | head -c 65536 > "$WORK/pattern"
SCRIPT='dev() { for b in /sys/block/vd*; do [ "$(cat $b/serial 2>/dev/null)" = "$1" ] && echo /dev/${b##*/}; done; }
rw=$(dev disk-rw); ro=$(dev disk-ro); echo "GUEST-BLK rw=$rw ro=$ro"
yes MESOVIRT-ARM64-PATTERN | head -c 65536 | dd of=$rw bs=4096 conv=fsync 2>/dev/null && echo GUEST-BLK-WRITE-OK
if echo x | dd of=$ro conv=fsync 2>/dev/null; then echo GUEST-RO-WRITE-SUCCEEDED; else echo GUEST-RO-WRITE-FAILED; fi
echo "GUEST-RNG-BYTES $(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)"'
echo "=== arm64 virtio-blk + virtio-rng ($KERNEL)"
t0=$(date +%s)
timeout "$CASE_TIMEOUT" "$MESOVIRT" -kernel "$KERNEL" -initrd "$INITRD" -m 256 -serial stdio \
  -append "console=ttyS0 quiet guest.cmd=$(printf '%s' "$SCRIPT" | base64 -w0)" \
  -drive id=d0,file="$WORK/rw.img" -device virtio-blk-device,drive=d0,id=blk0,serial=disk-rw \
  -drive id=d1,file="$WORK/ro.img",readonly=on -device virtio-blk-device,drive=d1,id=blk1,serial=disk-ro \
  -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-device,rng=r0,id=rng0 \
  </dev/null >"$WORK/log" 2>&1
RC=$?
check "exit code 0" test "$RC" = 0
check "disks found by serial" has "$WORK/log" 'GUEST-BLK rw=/dev/vd. ro=/dev/vd.'
check "guest write with conv=fsync" has "$WORK/log" '^GUEST-BLK-WRITE-OK'
head -c 65536 "$WORK/rw.img" > "$WORK/rw.part"
check "the pattern is in the image" cmp -s "$WORK/rw.part" "$WORK/pattern"
check "readonly=on write failed" has "$WORK/log" '^GUEST-RO-WRITE-FAILED'
check "/dev/hwrng gave 32 bytes" has "$WORK/log" '^GUEST-RNG-BYTES 32'
if [ "$OK" = 1 ]; then
  echo "--- PASS arm64-virtio ($(( $(date +%s) - t0 ))s, exit $RC)"; echo "1 passed, 0 failed"; exit 0
fi
echo "--- FAIL arm64-virtio (exit $RC); console and log:"; tr -d '\r' < "$WORK/log" | sed 's/^/    | /' | tail -60
echo "0 passed, 1 failed"; exit 1
