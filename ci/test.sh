#!/bin/bash
# The whole test suite:
#   1. mvn -B verify: unit, layout and property tests of every module, the distribution, the layering rules; the
#      tests that drive a real /dev/kvm (JUnit tag "kvm") are left to step 3
#   2. the uapi headers of arm64 and riscv64 (Debian trixie's linux-libc-dev, into the cache) for the arch modules'
#      ABI checks, which step 1 runs with them
#   3. ci/kvm-jobs.sh train unit qmp: the dist's class-data archive, the KVM tests, the QMP comparison with QEMU; on
#      this machine's /dev/kvm if it is usable, else inside the emulated x86_64 KVM host (ci/kvm.sh, MESOVIRT_KVM)
#   4. the real-Linux guest tests inside the emulated x86_64, arm64 and riscv64 KVM hosts, the standard machine (q35;
#      virt on arm64 and riscv64), UEFI on q35 and arm64 virt (Debian's OVMF and AAVMF, a GPT/ESP disk, resets, -kernel, acpi=on; ci/tests/uefi.sh, ci/tests/uefi-aarch64.sh), vhost-vsock, Kata Containers' StratoVirt driver (ci/tests/kata.sh) and the jailer (ci/tests/jailer.sh) included
# then the test counts of every module. Exit status 0 only if everything passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash ci/install-deps.sh
. ci/env.sh
. ci/kvm.sh
mv_kvm_probe
echo "ci/test.sh: the KVM tests, the dist's training and the QMP comparison run $(mv_kvm_where "$MV_KVM_TINY")"
# The x86_64 test guest's kernels first: RealKernelTest (arch-x86_64) parses them, and under CI=true it fails
# without one (on a fresh cache it used to skip); the guest jobs need them anyway.
bash ci/guest-image.sh x86_64 >/dev/null
start=$SECONDS
uapi=$(bash ci/uapi-headers.sh)
# shellcheck disable=SC2086
export $uapi
mvn -B -ntp verify -DexcludedGroups=kvm
echo "ci/test.sh: mvn verify took $((SECONDS - start)) s"
# An emulated-host job whose host itself died (exit 125: TCG emulating nested virtualization occasionally resets
# the whole emulated machine, seen with QEMU's own nested guests too) is run once more; a test failure is not, nor a
# set-up error (exit 2).
job() {
  local rc=0 s=$SECONDS
  bash "$@" || rc=$?
  if [ "$rc" = 125 ]; then
    echo "ci/test.sh: the emulated host of '$*' died (exit 125); running the job once more"
    rc=0; bash "$@" || rc=$?
  fi
  echo "ci/test.sh: '$*' exit $rc after $((SECONDS - s)) s"
  return "$rc"
}
# Every job runs even if an earlier one fails, so one run shows every failure.
rc=0
job ci/kvm-jobs.sh train unit qmp || rc=1
job ci/tests/x86_64.sh || rc=1
job ci/tests/x86_64-virtio.sh || rc=1
job ci/tests/qmp-guest.sh x86_64 || rc=1
job ci/tests/snapshot.sh || rc=1
job ci/tests/q35.sh || rc=1
# UEFI: the disk boot (firmware, boot loader, kernel, efivarfs variable across a restart), the firmware errors, the
# resets through the firmware and -kernel under it; the shell case is a subset of disk, the qemu cases are the timing
# reference (all of them: ci/tests/uefi.sh)
job ci/tests/uefi.sh errors disk reboot kernel || rc=1
job ci/tests/vsock.sh || rc=1
job ci/tests/kata.sh || rc=1
job ci/tests/jailer.sh || rc=1
job ci/tests/aarch64-boot.sh || rc=1
job ci/tests/aarch64-virtio.sh || rc=1
job ci/tests/snapshot.sh aarch64 || rc=1
job ci/tests/qmp-guest.sh aarch64 || rc=1
job ci/tests/virt.sh aarch64 || rc=1
# arm64 UEFI: AAVMF boots the GPT/ESP disk (an efivarfs variable across a restart), the firmware errors, acpi=on
# (ACPI through the firmware's table-loader, with blk, rng, net and ITS MSIs) and resets through the firmware; the shell and qemu-disk cases are a
# subset and the timing reference
job ci/tests/uefi-aarch64.sh errors disk acpi reboot || rc=1
job ci/tests/riscv64-boot.sh || rc=1
job ci/tests/snapshot.sh riscv64 || rc=1
job ci/tests/qmp-guest.sh riscv64 || rc=1
job ci/tests/virt.sh riscv64 || rc=1
echo "ci/test.sh: test counts (surefire reports; the KVM tests' come from ci/kvm-jobs.sh unit)"
python3 ci/junit-report.py summary fdt acpi vmm-api arch-x86_64 arch-aarch64 arch-riscv64 machine-microvm machine-standard cli jmh fuzz || rc=1
echo "ci/test.sh: exit $rc after $((SECONDS - start)) s"
exit $rc
