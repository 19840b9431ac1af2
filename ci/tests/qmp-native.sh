#!/bin/bash
# QMP on this machine's own /dev/kvm (no emulated host): ci/tests/qmp-compare.py runs bin/mesovirt and QEMU's
# microvm side by side with Debian's cloud kernel (which need not boot: both VMMs answer QMP while kvm_pvm stalls it),
# compares their replies' shapes and checks Mesovirt's life cycle, hot-plug and quit through the real process.
#
# usage: ci/tests/qmp-native.sh      Needs the distribution (mvn -B package) and QEMU; exit status 0 if all passed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESOVIRT=$ROOT/cli/target/dist/bin/mesovirt
[ -x "$MESOVIRT" ] || { echo "qmp-native: $MESOVIRT missing: run 'mvn -B package' first" >&2; exit 2; }
bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
KERNEL=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64/vmlinuz-cloud
echo "=== qmp-native: mesovirt vs $(qemu-system-x86_64 --version | head -1)"
timeout 300 python3 "$ROOT/ci/tests/qmp-compare.py" "$MESOVIRT" "$KERNEL"
