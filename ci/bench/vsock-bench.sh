#!/bin/bash
# vhost-vsock benchmark (not a test): AF_VSOCK stream throughput in MB/s, host -> guest and guest -> host, inside the
# emulated x86_64 KVM host, Mesovirt against QEMU on the same kernel's /dev/vhost-vsock, per machine a pair:
# "microvm", Mesovirt -machine microvm's vhost-vsock-device vs QEMU's (qemu-system-x86_64 -M microvm -accel kvm,
# -device vhost-vsock-device); "q35", Mesovirt -machine q35's vhost-vsock-pci vs QEMU -M q35's, both at 00:05.0 on
# pcie.0. Every round runs each VMM of each machine once, in that order, so the pairs share the emulated host's drift.
# Both sides are ci/guest/vsock.c (the guest's /bin/vsock in the test initramfs; built here for the host): a host
# process connects to the guest (CID 3) and sends MIB MiB of a counting pattern, which the guest checks; then the
# guest connects to the host (CID 2) and sends as much back. Both directions are timed on the host, from the
# connection's start to the receiver's close (host -> guest) or the sender's (guest -> host), so the guest's boot is
# not counted and the guest's clock does not matter. Prints medians and the ratios, and writes every run's figures as
# JSON lines (jmh/bench/lib.sh) to vsock.jsonl plus a note (vsock.note) in MESOVIRT_HOST_OUT (default
# jmh/target/bench), where jmh/run.sh's table picks them up.
#
# usage: ci/bench/vsock-bench.sh [-M MACHINES] [N]   (default 3 runs each; MACHINES comma-separated, default
#        microvm; microvm,q35 adds the PCI pair; VSOCK_BENCH_MIB, default 64; needs mvn -B package first)
# The dist (cli/target/dist, or MESOVIRT_BIN) is copied into the cache first, so a build during the run (mvn package
# empties cli/target/dist) cannot change what is measured.
# The figures come from software emulation (TCG) running a nested KVM: compare the ratio, not the absolute values.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
usage() { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
MACHINES=microvm
[ "${1:-}" = -M ] && { MACHINES=${2:?-M needs a list}; shift 2; }
case ${1:-} in ''|[0-9]*) ;; *) usage ;; esac
N=${1:-3}
MACHINES=$(bench_machines x86_64 "$MACHINES") || usage
PAIRS=$(tr ',' '\n' <<<"$MACHINES" | wc -l)
MIB=${VSOCK_BENCH_MIB:-64}
MESOVIRT=${MESOVIRT_BIN:-$ROOT/cli/target/dist/bin/mesovirt}
TOOLS=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/bench
HOST_VSOCK=$TOOLS/vsock
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "vsock-bench: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
  mkdir -p "$TOOLS"
  gcc -O2 -o "$HOST_VSOCK.$$" "$ROOT/ci/guest/vsock.c" && mv "$HOST_VSOCK.$$" "$HOST_VSOCK" \
    || { echo "vsock-bench: gcc failed" >&2; exit 2; }
  export MESOVIRT_HOST_ENV="${MESOVIRT_HOST_ENV:-} VSOCK_BENCH_MIB"
  export VSOCK_BENCH_MIB=$MIB
  bench_in_host vsock $((600 + N * PAIRS * 500)) "$HERE/vsock-bench.sh" -M "$MACHINES" "$N"
fi
. "$ROOT/jmh/bench/lib.sh"

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
KERNEL=$IMG/vmlinuz-cloud INITRD=$IMG/initrd-cloud.gz
WORK=$(mktemp -d /tmp/vsock-bench.XXXXXX)
CID=3
SCRIPT="vsock -t 300 listen 1235 recv | sed s/^/GUEST-/
vsock -t 120 connect 2 2235 send $MIB | sed s/^/GUEST-/"
APPEND="console=ttyS0 quiet guest.cmd=$(printf '%s' "$SCRIPT" | base64 -w0)"
RESULTS=$WORK/results

mbps() { # BYTES SECONDS -> MB/s
  awk -v b="$1" -v s="$2" 'BEGIN { if (b > 0 && s > 0) printf "%.1f", b / s / 1e6; else print "NA" }'
}

run() { # NAME CMD...
  local name=$1 h2g g2h bytes=$((MIB << 20))
  shift
  # The host's half: send to the guest once it listens, then take what it sends back.
  { "$HOST_VSOCK" -t 400 connect "$CID" 1235 send "$MIB" >"$WORK/h2g" 2>&1
    "$HOST_VSOCK" -t 120 listen 2235 recv >"$WORK/g2h" 2>&1; } &
  local host=$!
  local out; out=$(timeout 600 "$@" </dev/null 2>&1)
  kill "$host" 2>/dev/null; wait "$host" 2>/dev/null
  # Only complete transfers count: the guest received every byte intact, the host too.
  h2g=NA g2h=NA
  printf '%s\n' "$out" | tr -d '\r' | grep -Eq "^GUEST-VSOCK-RECEIVED $bytes [0-9.]+ ok" \
    && h2g=$(mbps "$bytes" "$(sed -n "s/^VSOCK-SENT $bytes //p" "$WORK/h2g")")
  g2h=$(awk -v b="$bytes" '$1 == "VSOCK-RECEIVED" && $2 == b && $4 == "ok" { print $3 }' "$WORK/g2h")
  g2h=$([ -n "$g2h" ] && mbps "$bytes" "$g2h" || echo NA)
  echo "$name host-to-guest $h2g guest-to-host $g2h   [host: $(tr '\n' ' ' < "$WORK/h2g")| $(tr '\n' ' ' < "$WORK/g2h")]" \
    | tee -a "$RESULTS"
  [ "$h2g" != NA ] && [ "$g2h" != NA ] || printf '%s\n' "$out" | tail -20
}

START=$(date -u +%FT%TZ) LOAD=$(bench_load)
echo "vsock-bench: machines $MACHINES, $N runs each, $MIB MiB each way, emulated host $(uname -r) with $(nproc) CPUs"
for i in $(seq "$N"); do
  for m in ${MACHINES//,/ }; do
    dev=vhost-vsock-device at=
    [ "$m" = q35 ] && dev=vhost-vsock-pci at=,bus=pcie.0,addr=0x5
    run "$(bench_vmm_name mesovirt "$m")" "$MESOVIRT" -machine "$m" -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
      -m 256 -serial stdio -device "$dev,id=vsock0,guest-cid=$CID$at"
    run "$(bench_vmm_name qemu "$m")" qemu-system-x86_64 -M "$m" -accel kvm -cpu host -m 256 -nodefaults -no-user-config \
      -nographic -serial stdio -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
      -device "$dev,id=vsock0,guest-cid=$CID$at"
  done
done
awk '
  function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  $3 != "NA" && $5 != "NA" { n[$1]++; h[$1, n[$1]] = $3; g[$1, n[$1]] = $5 }
  END {
    for (v in n) { for (i = 1; i <= n[v]; i++) { ha[i] = h[v, i]; ga[i] = g[v, i] }
      mh[v] = median(ha, n[v]); mg[v] = median(ga, n[v])
      printf "%-12s runs %d  host->guest median %.1f MB/s  guest->host median %.1f MB/s\n", v, n[v], mh[v], mg[v] }
    for (v in n) { if (v !~ /^mesovirt/) continue; p = v; sub(/^mesovirt/, "qemu", p)
      if (mh[p] > 0 && mg[p] > 0)
        printf "ratio %s/%s: host->guest %.2f, guest->host %.2f\n", v, p, mh[v] / mh[p], mg[v] / mg[p] }
  }' "$RESULTS"

rc=0
grep -q ' NA' "$RESULTS" && { echo "vsock-bench: some runs gave no figures (see above)" >&2; rc=1; }
[ -n "${MESOVIRT_HOST_OUT:-}" ] || exit $rc
field() { awk -v v="$1" -v f="$2" '$1 == v { print $f }' "$RESULTS"; } # VMM FIELD -> one value per run
QEMU_VERSION=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p')
LINES=$WORK/vsock.jsonl
for f in "3 h2g MB/s|vhost-vsock, host to guest: one AF_VSOCK stream, $MIB MiB" \
  "5 g2h MB/s|vhost-vsock, guest to host: one AF_VSOCK stream, $MIB MiB"; do
  read -r col key unit <<<"${f%%|*}"
  figure="${f#*|} (emulated x86_64 KVM host)"
  for m in ${MACHINES//,/ }; do
    dev=vhost-vsock-device mesovirt_label="Mesovirt vhost-vsock-device"
    [ "$m" = q35 ] && dev=vhost-vsock-pci mesovirt_label="Mesovirt q35 vhost-vsock-pci"
    mv=$(bench_vmm_name mesovirt "$m") qe=$(bench_vmm_name qemu "$m")
    # shellcheck disable=SC2046
    json_line "$LINES" "vsock.$key.$mv" "vsock.$key.$qe" "$unit" higher "$figure" "$mesovirt_label" $(field "$mv" "$col")
    # shellcheck disable=SC2046
    json_line "$LINES" "vsock.$key.$qe" "" "$unit" higher "$figure" "QEMU $QEMU_VERSION $m $dev" $(field "$qe" "$col")
  done
done
grep -q '"samples":\[\]' "$LINES" && { echo "vsock-bench: $MESOVIRT_HOST_OUT/vsock.jsonl left as it was" >&2; exit 1; }
cp "$LINES" "$MESOVIRT_HOST_OUT/vsock.jsonl.tmp" && mv "$MESOVIRT_HOST_OUT/vsock.jsonl.tmp" "$MESOVIRT_HOST_OUT/vsock.jsonl"
Q35=
bench_has_machine "$MACHINES" q35 && Q35=" The q35 pair: Mesovirt \`-machine q35\` and QEMU \`-M q35\` (through SeaBIOS $(bench_seabios_version)), vhost-vsock-pci at 00:05.0 on pcie.0 with MSI-X."
printf '%s\n' "**vsock** (\`ci/bench/vsock-bench.sh -M $MACHINES $N\`, $START): $N rounds, each running every VMM of every machine ($MACHINES) once in turn, inside the emulated x86_64 KVM host (QEMU TCG \`-cpu max\`, Linux $(uname -r), $(nproc) vCPUs, nested \`kvm_amd\`, the kernel's vhost_vsock for both VMMs); guest: Debian cloud kernel, \`-m 256\`, 1 vCPU, CID $CID; one stream of $MIB MiB each way between \`ci/guest/vsock.c\` on both sides, timed on the host.$Q35 Compare ratios, not absolute values. Load average (1, 5, 15 min) of the emulated host at the start: $LOAD; at the end: $(bench_load)." \
  > "$MESOVIRT_HOST_OUT/vsock.note"
echo "vsock-bench: results in $MESOVIRT_HOST_OUT/vsock.jsonl"
exit $rc
