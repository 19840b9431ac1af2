#!/bin/bash
# Boot-time benchmark (not a test): the same Debian kernel + busybox initramfs booted N times to the same console
# marker by Mesovirt and by QEMU's microvm machine (qemu-system-x86_64 -M microvm -accel kvm), alternating, inside
# the emulated x86_64 KVM host. Prints each run and the medians, min/max and the Mesovirt/QEMU ratios for
# "process start -> GUEST-READY" (the guest's init is running) and "process start -> process exit" (power-off).
#
# usage: ci/bench/boot-bench.sh [N] [cloud|generic]     (default 5 runs, cloud kernel; needs mvn -B package first)
# The figures are from software emulation (TCG) running a nested KVM: compare the ratio, not the absolute times.
set -uo pipefail
shopt -s lastpipe
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${1:-5}
FLAVOUR=${2:-cloud}
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$ROOT/cli/target/dist/bin/mesovirt" ] || { echo "boot-bench: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
  exec bash "$ROOT/ci/emulated-host.sh" x86_64 "$HERE/boot-bench.sh" "$N" "$FLAVOUR"
fi

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
KERNEL=$IMG/vmlinuz-$FLAVOUR INITRD=$IMG/initrd-$FLAVOUR.gz
APPEND="console=ttyS0 quiet"
now() { date +%s.%N; }

# measure NAME CMD...: prints "NAME ready_seconds exit_seconds rc"
measure() {
  local name=$1; shift
  local t0 ready=NA line= rc=NA
  t0=$(now)
  # lastpipe: the loop runs in this shell, so it can set ready/rc (no /dev/fd for process substitution here).
  { timeout 600 "$@" </dev/null 2>&1; echo "RC=$?"; } | while IFS= read -r line; do
    case $line in
      GUEST-READY*) [ "$ready" = NA ] && ready=$(awk -v s="$t0" -v e="$(now)" 'BEGIN{printf "%.2f", e-s}') ;;
      RC=*) rc=${line#RC=} ;;
    esac
  done
  echo "$name $ready $(awk -v s="$t0" -v e="$(now)" 'BEGIN{printf "%.2f", e-s}') $rc"
}

RESULTS=$(mktemp /tmp/boot-bench.XXXXXX)
echo "boot-bench: $FLAVOUR kernel, $N runs each, -m 256 -smp 2, emulated host $(uname -r) with $(nproc) CPUs"
for i in $(seq "$N"); do
  measure mesovirt "$ROOT/cli/target/dist/bin/mesovirt" -machine microvm -kernel "$KERNEL" -initrd "$INITRD" \
    -append "$APPEND" -m 256 -smp 2 -serial stdio | tee -a "$RESULTS"
  measure qemu qemu-system-x86_64 -M microvm -accel kvm -cpu host -m 256 -smp 2 -nodefaults -no-user-config \
    -nographic -serial stdio -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" | tee -a "$RESULTS"
done
awk '
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  $2 != "NA" && $4 == 0 { n[$1]++; r[$1, n[$1]] = $2; x[$1, n[$1]] = $3 }
  $2 == "NA" || $4 != 0 { bad[$1]++ }
  END {
    for (v in n) { for (i = 1; i <= n[v]; i++) { ra[i] = r[v, i]; xa[i] = x[v, i] }
      mr[v] = median(ra, n[v]); mx[v] = median(xa, n[v]); lo[v] = ra[1]; hi[v] = ra[n[v]] }
    printf "%-9s %5s %18s %20s %7s\n", "vmm", "runs", "start->READY med", "(min..max)", "start->exit med"
    for (v in n) printf "%-9s %5d %17.2fs %9.2f..%-9.2f %6.2fs\n", v, n[v], mr[v], lo[v], hi[v], mx[v]
    for (v in bad) printf "%s: %d failed runs\n", v, bad[v]
    if (mr["qemu"] > 0 && mr["mesovirt"] > 0)
      printf "ratio mesovirt/qemu: start->READY %.2f, start->exit %.2f\n", mr["mesovirt"] / mr["qemu"], mx["mesovirt"] / mx["qemu"]
  }' "$RESULTS"
