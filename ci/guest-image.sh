#!/bin/bash
# Build (cached) the nested test guest's kernels and initrds for one architecture, from Debian packages only.
#
# usage: ci/guest-image.sh ARCH        (ARCH: x86_64, aarch64 or riscv64)
# output: ${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/<arch>/
#   vmlinuz-cloud,   initrd-cloud.gz     Debian's "cloud" flavour (small, needs ACPI MADT for SMP)
#   vmlinuz-generic, initrd-generic.gz   Debian's generic flavour
#   aarch64: vmlinuz-generic, initrd-generic.gz   Debian 13 "trixie"'s arm64 kernel (vmlinuz is a plain arm64 Image)
#   riscv64: vmlinuz-generic, initrd-generic.gz  Debian 13 "trixie"'s riscv64 kernel (its boot/vmlinux-* is the Image)
#   stamp                                package versions + hashes the outputs were built from
# Each initrd is a gzip'd newc cpio: static busybox, /init (ci/guest/init.sh), on x86_64 /bin/vsock (ci/guest/vsock.c)
# and the modules of THAT kernel as /lib/modules/<name>.ko (the init loads them in a fixed order, so no modules.dep). A run whose stamp matches does
# nothing but print the paths (no network, well under a second). Runs on the real machine only: the outputs must be
# outside /tmp and /run so that the emulated host (ci/emulated-host.sh) sees them through its 9p root.
set -euo pipefail
# shellcheck source=ci/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || mv_die "usage: $0 ARCH   (x86_64, aarch64 or riscv64)" 2
ARCH=$1

# Modules wanted in the guest when the kernel has them as modules (missing = built in or absent: skipped quietly).
# The load order lives in ci/guest/init.sh.
GUEST_MODULES="virtio_ring virtio virtio_mmio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_net
  net_failover failover virtio_rng rng-core virtio_console pvpanic pvpanic-mmio crc16 mbcache jbd2 crc32c_generic libcrc32c
  ext4 evdev button gpio_keys vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"
# A tool for AF_VSOCK sockets (busybox has none), built from ci/guest/vsock.c when the guest's architecture is this
# machine's (x86_64): gcc -static, about 300 KB of the gzip'd initrd.
VSOCK_TOOL=$MV_CI_DIR/guest/vsock.c

# virtio-fs (fuse, then virtiofs), loaded after the list above by ci/guest/init.sh.
GUEST_MODULES="$GUEST_MODULES fuse virtiofs"

INIT=$MV_CI_DIR/guest/init.sh
[ -f "$INIT" ] || mv_die "missing $INIT"

# Per-architecture recipe: FLAVOURS maps an output flavour name to the Debian meta package whose kernel it uses.
case $ARCH in
  x86_64)
    FLAVOURS="cloud:linux-image-cloud-amd64 generic:linux-image-amd64"
    BUSYBOX_PKG=busybox-static
    ;;
  aarch64)
    # The same release as the emulated aarch64 host (ci/emulated-host.sh), whose arm64 kernel is also the guest's.
    MV_FOREIGN="trixie arm64"
    FLAVOURS="generic:linux-image-arm64"
    BUSYBOX_PKG=busybox-static
    ;;
  riscv64)
    # The same release as the emulated riscv64 host, whose kernel is also the guest's.
    MV_FOREIGN="trixie riscv64"
    FLAVOURS="generic:linux-image-riscv64"
    BUSYBOX_PKG=busybox-static
    ;;
  *) mv_unsupported_arch "$ARCH" ;;
esac

mv_check_cache_location
OUT=$MV_CACHE/guest/$ARCH
mkdir -p "$OUT"

# Resolve exact versions first (local apt lists only); they and the hashes decide whether anything is rebuilt.
metas=
for f in $FLAVOURS; do metas="$metas ${f#*:}"; done
# shellcheck disable=SC2086
mv_apt_ready $metas "$BUSYBOX_PKG"
declare -A KPKG KVER
# shellcheck disable=SC2086
KLINES=$(mv_kernel_pkgs $metas)
for f in $FLAVOURS; do
  name=${f%%:*}
  read -r _ KPKG[$name] KVER[$name] < <(printf '%s\n' "$KLINES" | grep "^${f#*:} ")
done
BBVER=$(mv_candidate "$BUSYBOX_PKG")

stamp() {
  echo "format=1 arch=$ARCH"
  for f in $FLAVOURS; do name=${f%%:*}; echo "$name ${KPKG[$name]}=${KVER[$name]}"; done
  echo "$BUSYBOX_PKG=$BBVER"
  echo "init.sh sha256=$(mv_sha256 "$INIT")"
  [ "$ARCH" != "$(uname -m)" ] || echo "vsock.c sha256=$(mv_sha256 "$VSOCK_TOOL")"
  # The builder itself (module list, packing) also shapes the output.
  echo "builder sha256=$(mv_sha256 "$0" "$MV_CI_DIR/lib.sh")"
}
WANT=$(stamp)

outputs_present() {
  local f name
  for f in $FLAVOURS; do
    name=${f%%:*}
    [ -s "$OUT/vmlinuz-$name" ] && [ -s "$OUT/initrd-$name.gz" ] || return 1
  done
}

print_outputs() {
  local f name
  for f in $FLAVOURS; do
    name=${f%%:*}
    echo "$OUT/vmlinuz-$name"
    echo "$OUT/initrd-$name.gz"
  done
}

if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$WANT" ] && outputs_present; then
  mv_log "guest images for $ARCH are up to date (cache hit)"
  print_outputs
  exit 0
fi

mv_lock
# Another builder may have finished while we waited for the lock.
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$WANT" ] && outputs_present; then
  mv_unlock; print_outputs; exit 0
fi
rm -f "$OUT/stamp"

BB_DIR=$(mv_fetch_pkg "$BUSYBOX_PKG" "$BBVER")
[ -x "$BB_DIR/bin/busybox" ] || BB_DIR=$BB_DIR/usr    # trixie's busybox is /usr/bin/busybox
[ -x "$BB_DIR/bin/busybox" ] || mv_die "no bin/busybox in $BUSYBOX_PKG"

for f in $FLAVOURS; do
  name=${f%%:*}
  pkg=${KPKG[$name]}
  kv=${pkg#linux-image-}
  kdir=$(mv_fetch_pkg "$pkg" "${KVER[$name]}")
  kimg=$kdir/boot/vmlinuz-$kv
  [ -s "$kimg" ] || kimg=$kdir/boot/vmlinux-$kv    # riscv64: the uncompressed (EFI-stub) Image
  [ -s "$kimg" ] || mv_die "no boot/vmlinuz-$kv in $pkg"
  mtree=$kdir/lib/modules/$kv
  [ -d "$mtree" ] || mtree=$kdir/usr/lib/modules/$kv    # merged-/usr kernel packages (trixie)

  root=$(mktemp -d "$OUT/.root-$name.XXXXXX")
  mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/modules}
  cp "$BB_DIR/bin/busybox" "$root/bin/busybox"
  cp "$INIT" "$root/init"
  chmod 755 "$root/init" "$root/bin/busybox"
  mv_add_console_node "$root"
  if [ "$ARCH" = "$(uname -m)" ]; then
    command -v gcc >/dev/null || mv_die "gcc is missing (it builds the guest's vsock tool): run ci/install-deps.sh"
    gcc -static -Os -s -o "$root/bin/vsock" "$VSOCK_TOOL" || mv_die "gcc -static $VSOCK_TOOL failed (libc6-dev?)"
  fi

  have=
  for m in $GUEST_MODULES; do
    src=$(mv_find_module "$mtree" "$m")
    [ -n "$src" ] || continue
    mv_copy_module "$src" "$root/lib/modules/$m.ko"
    have="$have $m"
  done
  # Sanity check (warning only): a packed module whose dependency is neither packed nor built in would fail to load.
  for m in $have; do
    for d in $(mv_module_depends "$root/lib/modules/$m.ko" | tr ',' ' '); do
      dn=$(printf '%s' "$d" | tr '-' '_')
      found=
      for h in $have; do [ "$(printf '%s' "$h" | tr '-' '_')" = "$dn" ] && found=1; done
      [ -n "$found" ] || mv_log "WARNING: $name: module $m depends on $d, which is not in the initrd"
    done
  done

  mv_pack_initramfs "$root" "$OUT/initrd-$name.gz"
  rm -rf "$root"
  if gzip -t "$kimg" 2>/dev/null; then
    gzip -dc "$kimg" > "$OUT/vmlinuz-$name.tmp"    # an arm64 Image.gz: boot the Image inside
  else
    cp "$kimg" "$OUT/vmlinuz-$name.tmp"
  fi
  mv "$OUT/vmlinuz-$name.tmp" "$OUT/vmlinuz-$name"
  mv_log "$name: $pkg ${KVER[$name]}; modules:${have:- (none)}"
done

printf '%s\n' "$WANT" > "$OUT/stamp"
mv_unlock
print_outputs
