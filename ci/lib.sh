# shellcheck shell=bash
# Shared helpers for the ci/ scripts (sourced, not run). Everything is built from Debian packages fetched with
# `apt-get download` into a cache, so a fresh machine needs only Debian's archive, and a warm cache needs nothing.
#
# Cache layout (${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}); deliberately NOT under /tmp or /run, because the emulated
# host mounts fresh tmpfs over those and the nested guests must still find their kernels and initrds:
#   debs/<pkg>_<version>.deb         downloaded packages
#   pkgs/<pkg>_<version>/            the same, unpacked with dpkg-deb -x (kept so that an init change rebuilds fast)
#   guest/<arch>/                    guest kernels + initrds (ci/guest-image.sh)
#   host/<arch>/                     emulated host kernel + initramfs, logs, per-run work dirs (ci/emulated-host.sh)

MV_CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MV_CACHE=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}
# Packages of another Debian suite/architecture (the aarch64 host's kernel and userland: Debian 13 "trixie" arm64):
# a script sets MV_FOREIGN="SUITE ARCH" (e.g. "trixie arm64") before using the apt helpers below. apt then works on
# a private state under <cache>/apt-SUITE-ARCH (own lists and pkgcache; the mirror read from the system's sources,
# "SUITE main" only), and downloads go to debs-SUITE-ARCH/ and pkgs-SUITE-ARCH/. The system's apt is not touched.
MV_FOREIGN=

mv_log() { printf '%s\n' "$*" >&2; }
mv_die() { local rc=${2:-1}; printf 'ERROR: %s\n' "$1" >&2; exit "$rc"; }

# Architectures are dispatched by name; an unknown one fails with exit 2 so callers can tell "unsupported" apart
# from "broken".
mv_unsupported_arch() {
  mv_die "unknown architecture '$1' (expected x86_64, aarch64 or riscv64)" 2
}

# Refuse to put the cache where the emulated host cannot see it (it mounts fresh tmpfs on /tmp and /run).
mv_check_cache_location() {
  mkdir -p "$MV_CACHE"
  MV_CACHE=$(cd "$MV_CACHE" && pwd -P)
  case $MV_CACHE/ in
    /tmp/*|/run/*) mv_die "MESOVIRT_CACHE=$MV_CACHE is under /tmp or /run, which the emulated host replaces with an empty tmpfs; pick another directory" ;;
  esac
}

# Serialise builders sharing one cache (two CI jobs, or guest-image.sh racing emulated-host.sh). The lock is held
# only while building; booting does not take it.
mv_lock() {
  exec 9>"$MV_CACHE/.build.lock"
  flock 9
}
mv_unlock() { flock -u 9; exec 9>&-; }

# apt-cache with a private binary cache: this Debian image disables apt's pkgcache.bin, so every apt-cache call
# re-parses all package lists (~1 s each); with our own pkgcache a lookup takes ~30 ms, which makes a cache-hit run
# of guest-image.sh instant. apt revalidates the file against the lists itself and rebuilds it after apt-get update.
mv_apt_opts() {
  if [ -n "$MV_FOREIGN" ]; then mv_foreign_apt_opts; return; fi
  mkdir -p "$MV_CACHE/apt"
  printf '%s\n' -o "Dir::Cache::pkgcache=$MV_CACHE/apt/pkgcache.bin" -o "Dir::Cache::srcpkgcache=$MV_CACHE/apt/srcpkgcache.bin"
}

# The apt options for MV_FOREIGN="SUITE ARCH": a private sources.list, lists, status file and caches.
mv_foreign_apt_opts() {
  local suite=${MV_FOREIGN% *} arch=${MV_FOREIGN#* } d uri
  d=$MV_CACHE/apt-$suite-$arch
  mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/state"
  [ -f "$d/state/status" ] || : > "$d/state/status"
  if [ ! -s "$d/sources.list" ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    [ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    [ -n "$uri" ] || mv_die "cannot find the Debian mirror in the system's apt sources"
    echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$d/sources.list"
  fi
  printf '%s\n' -o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=/dev/null" \
    -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/state/status" -o "Dir::Cache=$d" \
    -o "Dir::Cache::archives=$d/archives" -o "Dir::Cache::pkgcache=$d/pkgcache.bin" \
    -o "Dir::Cache::srcpkgcache=$d/srcpkgcache.bin" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" \
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
}
mv_apt_cache() { local o; mapfile -t o < <(mv_apt_opts); apt-cache "${o[@]}" "$@"; }

mv_sha256() { cat "$@" | sha256sum | cut -d' ' -f1; }

# apt-get update only when apt knows nothing about a package we need (fresh container: empty lists). Another
# process may hold apt's locks (e.g. an apt-get install running in parallel): apt waits for the dpkg frontend lock
# with DPkg::Lock::Timeout but fails at once on the lists lock, so retry for a while instead of failing.
mv_apt_ready() {
  local p missing=
  for p in "$@"; do
    [ -n "$(mv_candidate "$p")" ] || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  mv_log "apt knows no candidate for:$missing -> apt-get update"
  local i o=()
  [ -z "$MV_FOREIGN" ] || mapfile -t o < <(mv_apt_opts)
  for i in $(seq 1 60); do
    if apt-get -q "${o[@]}" -o DPkg::Lock::Timeout=600 update >&2; then break; fi
    mv_log "apt-get update failed (lock held by another apt?); retry $i/60 in 10 s"
    sleep 10
  done
  for p in $missing; do
    [ -n "$(mv_candidate "$p")" ] || mv_die "package '$p' not found in Debian's archive even after apt-get update"
  done
}

# The version apt would install (works without network; reads the local lists).
mv_candidate() {
  mv_apt_cache policy "$1" 2>/dev/null | awk '/^  Candidate:/{ if ($2 != "(none)") print $2; exit }'
}

# The concrete kernel packages behind meta packages, one line "META KERNEL-PKG VERSION" each, e.g.
# "linux-image-cloud-amd64 linux-image-6.1.0-56-cloud-amd64 6.1.192-2" (the meta package pins the exact version).
# One apt-cache call for all of them: reading package records costs ~0.3 s per call here.
mv_kernel_pkgs() {
  local out
  out=$(mv_apt_cache show --no-all-versions "$@" 2>/dev/null | awk '
    /^Package:/ { p = $2 }
    /^Depends:/ { if (match($0, /linux-image-[0-9][^ ,]* \(= [^)]*\)/)) {
                    split(substr($0, RSTART, RLENGTH), a, /[ ()=]+/); print p, a[1], a[2] } }')
  local m
  for m in "$@"; do
    printf '%s\n' "$out" | grep -q "^$m " || mv_die "cannot find the kernel package that '$m' depends on"
  done
  printf '%s\n' "$out"
}

# Download (apt-get download) and unpack (dpkg-deb -x) PKG at VERSION into the cache, once; prints the unpacked
# directory. Other cached versions of the same package are removed so the cache does not grow with every kernel
# update. Partial results are built under temporary names and renamed, so an interrupted run leaves no half state.
mv_fetch_pkg() {
  local pkg=$1 ver=$2 safe deb dir tmp sub=${MV_FOREIGN:+-${MV_FOREIGN// /-}}
  safe=${ver//:/%3a}
  deb=$MV_CACHE/debs$sub/${pkg}_${safe}.deb
  dir=$MV_CACHE/pkgs$sub/${pkg}_${safe}
  mkdir -p "$MV_CACHE/debs$sub" "$MV_CACHE/pkgs$sub"
  if [ ! -s "$deb" ]; then
    tmp=$(mktemp -d "$MV_CACHE/debs$sub/.dl.XXXXXX")
    mv_log "downloading $pkg=$ver"
    # Sandbox user root: the cache dir is usually not readable by apt's _apt user (avoids a noisy warning).
    local o; mapfile -t o < <(mv_apt_opts)
    (cd "$tmp" && apt-get -q "${o[@]}" -o APT::Sandbox::User=root download "$pkg=$ver" >&2) \
      || { rm -rf "$tmp"; mv_die "apt-get download $pkg=$ver failed"; }
    mv "$tmp"/*.deb "$deb"
    rm -rf "$tmp"
  fi
  if [ ! -d "$dir" ]; then
    tmp=$(mktemp -d "$MV_CACHE/pkgs$sub/.x.XXXXXX")
    mv_log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; mv_die "dpkg-deb -x $deb failed"; }
    mv "$tmp" "$dir"
  fi
  local old
  for old in "$MV_CACHE/debs$sub/${pkg}"_*.deb "$MV_CACHE/pkgs$sub/${pkg}"_*; do
    [ -e "$old" ] || continue
    [ "$old" = "$deb" ] || [ "$old" = "$dir" ] || rm -rf "$old"
  done
  printf '%s\n' "$dir"
}

# Find a module file by name in an unpacked kernel tree ("-" and "_" are interchangeable in module names, the
# file may be .ko, .ko.xz or .ko.zst). Prints nothing if the module does not exist (it may be built in).
mv_find_module() {
  local tree=$1 name=$2 alt
  alt=$(printf '%s' "$name" | tr '_-' '-_')
  find "$tree" -type f \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \
       -o -name "$alt.ko" -o -name "$alt.ko.xz" -o -name "$alt.ko.zst" \) -print -quit
}

# Copy a module into DEST as plain .ko (the initramfs has no xz/zstd-aware insmod).
mv_copy_module() {
  local src=$1 dest=$2
  case $src in
    *.ko.xz)  xz -dc "$src" > "$dest" ;;
    *.ko.zst) zstd -q -dc "$src" > "$dest" ;;
    *)        cp "$src" "$dest" ;;
  esac
}

# The "depends=" field of a plain .ko's .modinfo section (comma separated), without needing kmod's modinfo.
mv_module_depends() {
  tr '\0' '\n' < "$1" | sed -n '/^depends=/{s///p;q}'
}

# Extract the uncompressed ELF vmlinux from an x86 bzImage whose payload is XZ (Debian's generic flavour), like the
# kernel's scripts/extract-vmlinux. QEMU boots such an ELF through its PVH entry note (CONFIG_PVH=y), skipping the
# in-guest decompression, which under TCG software emulation costs several seconds of every host boot.
# Returns non-zero (and writes nothing) if the payload is not XZ or the result is not an ELF file.
mv_extract_vmlinux() {
  local bz=$1 out=$2 off
  # Process substitutions, not pipes: under pipefail the producers' SIGPIPE (consumer stops early) would count
  # as failure.
  off=$(head -n1 < <(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | cut -d: -f1))
  [ -n "$off" ] || return 1
  xz -dc --single-stream < <(tail -c +"$((off + 1))" "$bz") > "$out.tmp" 2>/dev/null || { rm -f "$out.tmp"; return 1; }
  [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || { rm -f "$out.tmp"; return 1; }
  mv "$out.tmp" "$out"
}

# Pack DIR as a newc cpio (the format the kernel unpacks as initramfs) into OUT, atomically; gzip'd when OUT ends
# in .gz. Owner 0:0 and sorted names make it independent of who builds it.
mv_pack_initramfs() {
  local dir=$1 out=$2
  if [ "${out%.gz}" != "$out" ]; then
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -n -9 > "$out.tmp"
  else
    (cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out.tmp"
  fi
  mv "$out.tmp" "$out"
}

# Create /dev/console in the initramfs tree when we can (root), so the kernel can give /init a console even before
# devtmpfs is mounted; the init scripts also re-open /dev/console after mounting devtmpfs, so this is a nicety.
mv_add_console_node() {
  mkdir -p "$1/dev"
  if [ "$(id -u)" = 0 ]; then mknod -m 600 "$1/dev/console" c 5 1 2>/dev/null || true; fi
}
