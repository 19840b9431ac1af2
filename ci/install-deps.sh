#!/bin/bash
# Installs what building, testing and running Mesovirt on a fresh Debian 12 x86_64 machine needs, from Debian's
# archive, and checks that a JDK 21+ is present (Debian 12 ships only 17; these machines carry Temurin 25 under
# /usr/lib/jvm, which bin/mesovirt and ci/env.sh pick automatically). Idempotent and quiet when all is there.
set -euo pipefail
PKGS=(maven gcc libc6-dev linux-libc-dev qemu-system-x86 qemu-system-arm busybox-static cpio xz-utils zstd acpica-tools
      device-tree-compiler e2fsprogs strace python3 fdisk dosfstools mtools)
# (The riscv64 emulated host needs nothing more here: Debian 12's QEMU 7.2 cannot emulate the AIA, so
# ci/emulated-host.sh unpacks trixie's QEMU 10 and the riscv64 packages into its cache with a private apt state.)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# shellcheck source=ci/env.sh
. "$(dirname "$0")/env.sh"
"$JAVA_HOME/bin/java" -version 2>&1 | head -1
