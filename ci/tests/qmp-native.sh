#!/bin/bash
# QMP of the real process on a /dev/kvm of the machine's own (this machine's, or the emulated x86_64 host's when
# ci/kvm-jobs.sh qmp runs it there): ci/tests/qmp-compare.py runs bin/mesovirt and QEMU's microvm side by side with
# Debian's cloud kernel and the test initramfs idling (guest.sleep; on kvm_pvm the kernel stalls early instead, and
# both VMMs answer QMP all the same), compares their replies' shapes and checks Mesovirt's life cycle, hot-plug, fd
# passing and quit.
#
# usage: ci/tests/qmp-native.sh      Needs the distribution (mvn -B package), QEMU and a usable /dev/kvm; exit status
# 0 if all passed. Without a usable /dev/kvm here: bash ci/kvm-jobs.sh qmp.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
[ -x "$MESOVIRT" ] || { echo "qmp-native: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "qmp-native: no usable /dev/kvm here: run 'bash ci/kvm-jobs.sh qmp'" >&2; exit 2; }
bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
echo "=== qmp-native: mesovirt vs $(qemu-system-x86_64 --version | head -1)"
timeout 300 python3 "$ROOT/ci/tests/qmp-compare.py" "$MESOVIRT" "$IMG/vmlinuz-cloud" "$IMG/initrd-cloud.gz"
