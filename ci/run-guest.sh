#!/bin/bash
# Set up and boot, for a fresh machine: installs what is needed, builds Mesovirt, builds the Debian guest images,
# then boots the Debian cloud kernel with the busybox initramfs under Mesovirt and shows its console.
#
# usage: ci/run-guest.sh [cloud|generic] [MESOVIRT OPTIONS...]
# Where it boots: on a machine whose /dev/kvm can run Linux guests, right here. On these machines /dev/kvm is
# kvm_pvm, which cannot boot a stock kernel, so by default the boot happens inside the emulated x86_64 KVM host
# (ci/emulated-host.sh); MESOVIRT_NATIVE=1 forces a boot on the local /dev/kvm.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLAVOUR=${1:-cloud}; [ $# -gt 0 ] && shift
case $FLAVOUR in cloud|generic) ;; *) echo "usage: $0 [cloud|generic] [mesovirt options...]" >&2; exit 2 ;; esac

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  cd "$ROOT"
  bash ci/install-deps.sh
  . ci/env.sh
  mvn -B -q -ntp package -DskipTests
  # The dist's class-data archive (AOT cache on JDK 24+): about half the start-up time. Optional: it needs /dev/kvm.
  cli/target/dist/bin/mesovirt --train || echo "run-guest: no class-data archive for the dist; it starts slower"
  bash ci/guest-image.sh x86_64
  if [ "${MESOVIRT_NATIVE:-}" != 1 ] && [ -d /sys/module/kvm_pvm ]; then
    echo "run-guest: /dev/kvm is kvm_pvm here; booting inside the emulated x86_64 KVM host"
    exec bash ci/emulated-host.sh x86_64 "$ROOT/ci/run-guest.sh" "$FLAVOUR" "$@"
  fi
fi
IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
set -x
"$ROOT/cli/target/dist/bin/mesovirt" -machine microvm -kernel "$IMG/vmlinuz-$FLAVOUR" -initrd "$IMG/initrd-$FLAVOUR.gz" \
  -append "console=ttyS0" -m 256 -smp 2 -serial stdio "$@"
