#!/bin/bash
# The whole test suite: unit, layout, property and native-KVM tests (mvn -B verify, which also builds the
# distribution), then the real-Linux guest tests inside the emulated x86_64, arm64 and riscv64 KVM hosts
# (ci/tests/x86_64.sh, ci/tests/x86_64-virtio.sh, ci/tests/aarch64-boot.sh, ci/tests/aarch64-virtio.sh,
# ci/tests/riscv64-boot.sh), and the QMP tests: natively against QEMU (ci/tests/qmp-native.sh) and with a real guest
# on each architecture (ci/tests/qmp-guest.sh ARCH).
# Exit status 0 only if everything passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash ci/install-deps.sh
. ci/env.sh
mvn -B -ntp verify
# The dist's class-data archive (bin/mesovirt --train: the AOT cache on JDK 24+, ~half the start-up time), which the
# guest tests below then use. Optional: it needs /dev/kvm; without it the VMM only starts slower.
cli/target/dist/bin/mesovirt --train || echo "ci/test.sh: no class-data archive for the dist; it starts slower"
# An emulated-host job whose host itself died (exit 125: TCG emulating nested virtualization occasionally resets
# the whole emulated machine, seen with QEMU's own nested guests too) is run once more; a test failure is not.
job() {
  local rc=0
  bash "$@" || rc=$?
  if [ "$rc" = 125 ]; then
    echo "ci/test.sh: the emulated host of '$*' died (exit 125); running the job once more"
    rc=0; bash "$@" || rc=$?
  fi
  return "$rc"
}
# Every emulated-host job runs even if an earlier one fails, so one run shows every failure.
rc=0
bash ci/tests/qmp-native.sh || rc=1
job ci/tests/x86_64.sh || rc=1
job ci/tests/x86_64-virtio.sh || rc=1
job ci/tests/qmp-guest.sh x86_64 || rc=1
job ci/tests/aarch64-boot.sh || rc=1
job ci/tests/aarch64-virtio.sh || rc=1
job ci/tests/qmp-guest.sh aarch64 || rc=1
job ci/tests/riscv64-boot.sh || rc=1
job ci/tests/qmp-guest.sh riscv64 || rc=1
exit $rc
