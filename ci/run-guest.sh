#!/bin/bash
# Set up and boot, for a fresh machine: installs what is needed, builds Mesovirt (and the dist's class-data archive),
# builds the Debian guest images, then boots the Debian cloud kernel with the busybox initramfs under Mesovirt and
# shows its console.
#
# usage: ci/run-guest.sh [cloud|generic] [MESOVIRT OPTIONS...]
# Where it boots (ci/kvm.sh): with a native KVM, right here; with kvm_pvm (which cannot boot a stock kernel) or no
# /dev/kvm at all, inside the emulated x86_64 KVM host (ci/emulated-host.sh). MESOVIRT_KVM=native|emulated forces
# either. The class-data archive is trained on this machine's /dev/kvm if it has a usable one, else in the emulated
# host too (ci/kvm-jobs.sh train).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLAVOUR=${1:-cloud}; [ $# -gt 0 ] && shift
case $FLAVOUR in cloud|generic) ;; *) echo "usage: $0 [cloud|generic] [mesovirt options...]" >&2; exit 2 ;; esac

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  cd "$ROOT"
  bash ci/install-deps.sh
  . ci/env.sh
  . ci/kvm.sh
  mv_kvm_probe
  echo "run-guest: $MV_KVM_FOUND here"
  mvn -B -q -ntp package -DskipTests
  # The dist's class-data archive (AOT cache on JDK 24+): about half the start-up time. Not fatal: without it the
  # VMM only starts slower.
  bash ci/kvm-jobs.sh train || echo "run-guest: no class-data archive for the dist; it starts slower"
  bash ci/guest-image.sh x86_64
  if [ "$MV_KVM_LINUX" = emulated ]; then
    echo "run-guest: booting $(mv_kvm_where emulated)"
    exec bash ci/emulated-host.sh x86_64 "$ROOT/ci/run-guest.sh" "$FLAVOUR" "$@"
  fi
  echo "run-guest: booting $(mv_kvm_where native)"
fi
IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
set -x
"$ROOT/cli/target/dist/bin/mesovirt" -machine microvm -kernel "$IMG/vmlinuz-$FLAVOUR" -initrd "$IMG/initrd-$FLAVOUR.gz" \
  -append "console=ttyS0" -m 256 -smp 2 -serial stdio "$@"
