#!/bin/bash
# Debian's UEFI firmware for the standard machine, as the distribution ships it (cached, like the guest images).
#
# usage: ci/firmware.sh x86_64|aarch64
# output: ${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/firmware/ARCH/
#   x86_64:  OVMF_CODE_4M.fd, OVMF_VARS_4M.fd   from Debian 12's `ovmf` package (/usr/share/OVMF), unmodified
#   aarch64: AAVMF_CODE.fd, AAVMF_VARS.fd       from Debian 12's `qemu-efi-aarch64` (/usr/share/AAVMF, 64 MiB each)
#   stamp                              package version + hashes
# Prints the directory. A run whose stamp matches touches nothing (no network). Runs on the real machine only.
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || mv_die "usage: $0 ARCH   (x86_64|aarch64)" 2
case $1 in
  x86_64) PKG=ovmf; SRC=usr/share/OVMF; FILES="OVMF_CODE_4M.fd OVMF_VARS_4M.fd" ;;
  aarch64) PKG=qemu-efi-aarch64; SRC=usr/share/AAVMF; FILES="AAVMF_CODE.fd AAVMF_VARS.fd" ;;
  *) mv_unsupported_arch "$1" ;;
esac
mv_check_cache_location
OUT=$MV_CACHE/firmware/$1
mkdir -p "$OUT"

mv_lock
mv_apt_ready "$PKG"
VER=$(mv_candidate "$PKG")
want="$PKG $VER"
if [ -f "$OUT/stamp" ] && [ "$(head -1 "$OUT/stamp")" = "$want" ] \
   && (cd "$OUT" && tail -n +2 stamp | sha256sum -c --quiet >/dev/null 2>&1); then
  mv_unlock; printf '%s\n' "$OUT"; exit 0
fi
DIR=$(mv_fetch_pkg "$PKG" "$VER")
for f in $FILES; do
  [ -s "$DIR/$SRC/$f" ] || mv_die "$PKG $VER has no $SRC/$f"
  cp "$DIR/$SRC/$f" "$OUT/$f.tmp" && mv "$OUT/$f.tmp" "$OUT/$f"
done
{ echo "$want"; (cd "$OUT" && sha256sum $FILES); } > "$OUT/stamp"
mv_unlock
mv_log "firmware: $want in $OUT"
printf '%s\n' "$OUT"
