#!/bin/bash
# The Linux uapi headers of every architecture, for the arch modules' ABI tests (Arm64KvmTest, RiscvKvmTest compile
# the KVM constants from them with gcc): Debian trixie's linux-libc-dev, which ships each architecture's asm/ under
# /usr/include/<triplet>/, unpacked into the cache (Debian 12's has only x86's). Prints the variables the tests read:
#   MESOVIRT_ARM64_UAPI=<dir> MESOVIRT_RISCV64_UAPI=<dir>
# usage: export $(bash ci/uapi-headers.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mv_check_cache_location
MV_FOREIGN="trixie amd64"
mv_apt_ready linux-libc-dev
dir=$(mv_fetch_pkg linux-libc-dev "$(mv_candidate linux-libc-dev)")/usr/include
for t in aarch64-linux-gnu riscv64-linux-gnu; do
  [ -f "$dir/$t/asm/kvm.h" ] && [ -f "$dir/linux/kvm.h" ] || mv_die "no $t/asm/kvm.h in trixie's linux-libc-dev ($dir)"
done
echo "MESOVIRT_ARM64_UAPI=$dir MESOVIRT_RISCV64_UAPI=$dir"
