#!/bin/bash
# virtio-fs benchmark (not a test): guest sequential write and read MB/s through virtio-fs, inside the emulated
# x86_64 KVM host: Mesovirt -machine microvm's vhost-user-fs-device vs QEMU's (qemu-system-x86_64 -M microvm
# -accel kvm, -device vhost-user-fs-device with -global virtio-mmio.force-legacy=false, which vhost-user needs on
# QEMU 7.2's microvm), both on guest RAM from memory-backend-memfd,share=on, each run against a fresh instance of the
# same virtiofsd (QEMU 7.2's, Debian's qemu-system-common, -o cache=auto, sandbox=chroot) sharing a directory on
# the emulated host's tmpfs. Every round runs each VMM once, in turn, so the two share the emulated host's drift.
# The guest mounts the tag, writes 64 MiB with dd bs=1M conv=fsync, drops its page cache and reads them back, timed
# in the guest (/proc/uptime). Prints medians and the ratios, and writes every run's figures as JSON lines
# (jmh/bench/lib.sh) to fs.jsonl plus a note (fs.note) in MESOVIRT_HOST_OUT (default jmh/target/bench, replaced),
# where jmh/run.sh's table picks them up.
#
# usage: ci/bench/fs-bench.sh [N]   (default 3 runs each; needs mvn -B package first)
# The dist (cli/target/dist, or MESOVIRT_BIN) is copied into the cache first, so a build during the run cannot change
# what is measured. The figures come from software emulation (TCG) running a nested KVM: compare the ratio.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
usage() { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
case ${1:-} in ''|[0-9]*) ;; *) usage ;; esac
N=${1:-3}
MESOVIRT=${MESOVIRT_BIN:-$ROOT/cli/target/dist/bin/mesovirt}
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "fs-bench: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
  bench_in_host fs $((600 + N * 2 * 300)) "$HERE/fs-bench.sh" "$N"
fi
. "$ROOT/jmh/bench/lib.sh"
# virtiofsd_start: the virtio-fs tests' back-end
. "$ROOT/ci/tests/lib.sh"

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
KERNEL=$IMG/vmlinuz-cloud INITRD=$IMG/initrd-cloud.gz
WORK=$(mktemp -d /tmp/fs-bench.XXXXXX)
SHARED=$WORK/shared SOCK=$WORK/vfs.sock
SCRIPT='up() { cut -d" " -f1 /proc/uptime; }
mkdir -p /mnt/fs && mount -t virtiofs myfs /mnt/fs || echo BENCH-MOUNT-FAILED
t0=$(up); dd if=/dev/zero of=/mnt/fs/bench bs=1M count=64 conv=fsync 2>/dev/null; t1=$(up)
echo 3 > /proc/sys/vm/drop_caches
t2=$(up); dd if=/mnt/fs/bench of=/dev/null bs=1M 2>/dev/null; t3=$(up)
[ "$(wc -c < /mnt/fs/bench)" = 67108864 ] || echo BENCH-SIZE-WRONG
echo "BENCH-WRITE $(awk -v a=$t0 -v b=$t1 "BEGIN { print b - a }")"
echo "BENCH-READ $(awk -v a=$t2 -v b=$t3 "BEGIN { print b - a }")"
rm /mnt/fs/bench; umount /mnt/fs'
APPEND="console=ttyS0 quiet guest.cmd=$(printf '%s' "$SCRIPT" | base64 -w0)"
RESULTS=$WORK/results
MEM=(-object memory-backend-memfd,id=mem,size=256M,share=on)

run() { # NAME CMD...: one boot against a fresh virtiofsd
  local name=$1; shift
  virtiofsd_start "$SHARED" "$SOCK" "$WORK/virtiofsd-$name.log"
  local out; out=$(timeout 600 "$@" </dev/null 2>&1)
  kill "$VIRTIOFSD" 2>/dev/null; wait "$VIRTIOFSD" 2>/dev/null
  local w r
  w=$(printf '%s\n' "$out" | sed -n 's/^BENCH-WRITE //p' | tr -d '\r')
  r=$(printf '%s\n' "$out" | sed -n 's/^BENCH-READ //p' | tr -d '\r')
  printf '%s\n' "$out" | grep -q 'BENCH-MOUNT-FAILED\|BENCH-SIZE-WRONG' && w= r=
  echo "$name write $(bench_mbps "$w") read $(bench_mbps "$r")   [seconds: ${w:-none} ${r:-none}]" | tee -a "$RESULTS"
  [ -n "$w" ] || { printf '%s\n' "$out" | tail -20; tail -5 "$WORK/virtiofsd-$name.log"; }
}

START=$(date -u +%FT%TZ) LOAD=$(bench_load)
echo "fs-bench: $N runs each, 64 MiB dd bs=1M through virtio-fs, emulated host $(uname -r) with $(nproc) CPUs"
for i in $(seq "$N"); do
  run mesovirt "$MESOVIRT" -machine microvm,memory-backend=mem "${MEM[@]}" -kernel "$KERNEL" -initrd "$INITRD" \
    -append "$APPEND" -m 256 -serial stdio \
    -chardev socket,id=vfs,path="$SOCK" -device vhost-user-fs-device,id=fs0,chardev=vfs,tag=myfs
  run qemu qemu-system-x86_64 -M microvm,memory-backend=mem "${MEM[@]}" -accel kvm -cpu host -m 256 -nodefaults \
    -no-user-config -nographic -serial stdio -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
    -global virtio-mmio.force-legacy=false \
    -chardev socket,id=vfs,path="$SOCK" -device vhost-user-fs-device,chardev=vfs,tag=myfs
done
awk "$BENCH_MEDIAN"'
  $3 != "NA" && $5 != "NA" { n[$1]++; w[$1, n[$1]] = $3; r[$1, n[$1]] = $5 }
  END {
    for (v in n) { for (i = 1; i <= n[v]; i++) { wa[i] = w[v, i]; ra[i] = r[v, i] }
      mw[v] = median(wa, n[v]); mr[v] = median(ra, n[v])
      printf "%-10s runs %d  write median %.1f MB/s  read median %.1f MB/s\n", v, n[v], mw[v], mr[v] }
    if (mw["qemu"] > 0 && mr["qemu"] > 0 && n["mesovirt"] > 0)
      printf "ratio mesovirt/qemu: write %.2f, read %.2f\n", mw["mesovirt"] / mw["qemu"], mr["mesovirt"] / mr["qemu"]
  }' "$RESULTS"

rc=0
grep -q ' NA' "$RESULTS" && { echo "fs-bench: some runs gave no figures (see above)" >&2; rc=1; }
[ -n "${MESOVIRT_HOST_OUT:-}" ] || exit $rc
field() { bench_field "$RESULTS" "$@"; } # VMM FIELD -> one value per run
QEMU_VERSION=$(bench_qemu_version)
LINES=$WORK/fs.jsonl
for f in "3 write MB/s|virtio-fs, guest sequential write: dd 64 MiB bs=1M conv=fsync" \
  "5 read MB/s|virtio-fs, guest sequential read: dd 64 MiB bs=1M after drop_caches"; do
  read -r col key unit <<<"${f%%|*}"
  figure="${f#*|} (emulated x86_64 KVM host, virtiofsd of QEMU $QEMU_VERSION)"
  # shellcheck disable=SC2046
  json_line "$LINES" "fs.$key.mesovirt" "fs.$key.qemu" "$unit" higher "$figure" "Mesovirt vhost-user-fs-device" \
    $(field mesovirt "$col")
  # shellcheck disable=SC2046
  json_line "$LINES" "fs.$key.qemu" "" "$unit" higher "$figure" "QEMU $QEMU_VERSION microvm vhost-user-fs-device" \
    $(field qemu "$col")
done
grep -q '"samples":\[\]' "$LINES" && { echo "fs-bench: $MESOVIRT_HOST_OUT/fs.jsonl left as it was" >&2; exit 1; }
cp "$LINES" "$MESOVIRT_HOST_OUT/fs.jsonl.tmp" && mv "$MESOVIRT_HOST_OUT/fs.jsonl.tmp" "$MESOVIRT_HOST_OUT/fs.jsonl"
printf '%s\n' "**fs** (\`ci/bench/fs-bench.sh $N\`, $START): $N rounds, each running Mesovirt and QEMU microvm once in turn, inside the emulated x86_64 KVM host (QEMU TCG \`-cpu max\`, Linux $(uname -r), $(nproc) vCPUs, nested \`kvm_amd\`); guest: Debian cloud kernel, \`-m 256\` from memory-backend-memfd (share=on), 1 vCPU, one request queue of 128; a fresh QEMU $QEMU_VERSION virtiofsd (cache=auto) per run, sharing a directory on the emulated host's tmpfs. Compare ratios, not absolute values. Load average (1, 5, 15 min) of the emulated host at the start: $LOAD; at the end: $(bench_load)." \
  > "$MESOVIRT_HOST_OUT/fs.note"
echo "fs-bench: results in $MESOVIRT_HOST_OUT/fs.jsonl"
exit $rc
