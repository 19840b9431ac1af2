# shellcheck shell=bash
# Shared helpers of the ci/bench scripts that measure inside an emulated KVM host (sourced, not run):
# boot-jmh.sh, blk-bench.sh, vsock-bench.sh, fs-bench.sh and snapshot-bench.sh.

# bench_machines ARCH [LIST]: prints the machine types to measure, comma-separated: LIST (e.g. "microvm,q35") checked
# against ARCH, or ARCH's default when LIST is empty: Mesovirt's two machines, microvm and q35 on x86_64, microvm
# and virt elsewhere. A type ARCH does not have: a message and status 2.
bench_machines() {
  local arch=$1 list=${2:-} m
  if [ -z "$list" ]; then
    [ "$arch" = x86_64 ] && list=microvm,q35 || list=microvm,virt
  fi
  for m in ${list//,/ }; do
    case $arch/$m in
      */microvm | x86_64/q35 | aarch64/virt | riscv64/virt) ;;
      *) echo "bench: no machine '$m' on $arch (microvm everywhere, q35 on x86_64, virt on aarch64 and riscv64)" >&2
         return 2 ;;
    esac
  done
  printf '%s\n' "$list"
}

# bench_has_machine LIST TYPE: whether the comma-separated LIST names TYPE.
bench_has_machine() { [[ ",$1," == *",$2,"* ]]; }

# bench_load: the load average (1, 5, 15 min) of the machine it runs on: the emulated host's inside it.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_note_outer_load NOTE SINCE: outside the emulated host, after its run: appends this machine's load average to
# NOTE if the run wrote NOTE (newer than the file or directory SINCE, made before it started). The host's own TCG
# threads account for about 2 of it; more means something else ran on the 2 cores meanwhile.
bench_note_outer_load() {
  [ -f "$1" ] && [ "$1" -nt "$2" ] || return 0
  sed -i "s|\$| This machine's load average at the end: $(bench_load).|" "$1"
}

# bench_mbps SECONDS: the MB/s of 64 MiB (the dd runs of blk-bench.sh and fs-bench.sh) moved in SECONDS; NA if none.
bench_mbps() {
  awk -v s="$1" 'BEGIN { if (s > 0) printf "%.1f", 67108864 / s / 1e6; else print "NA" }'
}

# bench_field RESULTS NAME COLUMN: column COLUMN of RESULTS' lines whose first word is NAME, one value per run.
bench_field() { awk -v v="$2" -v f="$3" '$1 == v { print $f }' "$1"; }

# bench_qemu_version [ARCH]: the version qemu-system-ARCH (default x86_64) reports, e.g. 7.2.22.
bench_qemu_version() { "qemu-system-${1:-x86_64}" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'; }

# BENCH_MEDIAN: an awk function, median(a, n) of a[1..n] (sorts a), to put before a program that uses it.
BENCH_MEDIAN='function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }'

# bench_seabios_version: the Debian version of the SeaBIOS that QEMU's q35 boots through (seabios package).
bench_seabios_version() { dpkg-query -W -f='${Version}' seabios 2>/dev/null || echo '?'; }

# bench_vmm_name VMM MACHINE: a run's name in the results: mesovirt and qemu for microvm (the names they always had),
# mesovirt-q35 and qemu-q35.
bench_vmm_name() { [ "$2" = microvm ] && echo "$1" || echo "$1-$2"; }

# bench_in_host PART TIMEOUT SCRIPT [ARGS...]: outside the emulated host, runs SCRIPT ARGS inside the one of
# BENCH_ARCH (default x86_64; another's QEMU, qemu-system-arm or -riscv, is added to that host's userland) (for
# at most TIMEOUT seconds unless MESOVIRT_HOST_TIMEOUT says otherwise) on a private copy of the dist in the cache
# (unless MESOVIRT_BIN names one), so that a build meanwhile (mvn package empties cli/target/dist) cannot change what
# is measured; its results go to MESOVIRT_HOST_OUT (default jmh/target/bench), and this machine's load average is
# added to PART.note there. Exits with SCRIPT's status.
bench_in_host() {
  local part=$1 timeout=$2 script=$3 root tools snap= started rc
  shift 3
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  tools=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/bench
  mkdir -p "$tools" || exit 2
  if [ -z "${MESOVIRT_BIN:-}" ]; then
    snap=$(mktemp -d "$tools/dist.XXXXXX") && cp -a "$root/cli/target/dist" "$snap/dist" || exit 2
    export MESOVIRT_BIN=$snap/dist/bin/mesovirt
  fi
  export MESOVIRT_HOST_OUT=${MESOVIRT_HOST_OUT:-$root/jmh/target/bench}
  mkdir -p "$MESOVIRT_HOST_OUT"
  started=$(mktemp "$tools/started.XXXXXX")
  local arch=${BENCH_ARCH:-x86_64} pkg=
  case $arch in aarch64) pkg=qemu-system-arm ;; riscv64) pkg=qemu-system-riscv ;; esac
  MESOVIRT_HOST_EXTRA_PKGS=${MESOVIRT_HOST_EXTRA_PKGS:-$pkg} MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-$timeout} \
    bash "$root/ci/emulated-host.sh" "$arch" "$script" "$@"
  rc=$?
  bench_note_outer_load "$MESOVIRT_HOST_OUT/$part.note" "$started"
  rm -f "$started"
  [ -n "$snap" ] && rm -rf "$snap"
  exit $rc
}
