#!/bin/bash
# Snapshot benchmark (not a test): snapshot time and size, and restore-to-running time, of the same guest in
# Mesovirt's microVM and in QEMU's microvm (qemu-system-x86_64 -M microvm -accel kvm -cpu host), inside the emulated
# x86_64 KVM host: Debian's cloud kernel with the test initramfs and its shell on the serial console
# (guest.shell=1), -m 256 -smp 2, a virtio-blk-device disk (an empty 8 MiB raw image), QMP on a unix socket. Each of
# the N rounds runs Mesovirt, then QEMU, through ci/bench/snapshot-run.py, which
#   - boots the guest, starts a ticker in its shell (a console line every 0.2 s) and, right after a tick, `stop`s it;
#   - times `migrate` from sending it to the `query-migrate` reply that says "completed" (Mesovirt: uri file:DIR,
#     DIR/state and a sparse DIR/memory; QEMU: uri file:PATH from QEMU 8.2 on, "exec:cat > PATH" before, one
#     stream file), then `quit`s; the script then takes the snapshot's size, apparent (st_size) and on disk
#     (allocated blocks, on the emulated host's tmpfs), state and memory together;
#   - starts the same command line with -incoming (Mesovirt file:DIR; QEMU file:PATH or "exec:cat PATH") and times
#     it from starting the process to the guest's next console tick; QEMU keeps the paused state of its source, so
#     the driver `cont`s it as soon as query-status leaves "inmigrate" (part of its figure); Mesovirt runs at once.
#   - the restored guest must answer serial input (timed too: Mesovirt maps the memory file and reads a page when
#     the guest first touches it, so part of its restore comes after the first tick) and power off cleanly (exit 0),
#     else the round fails.
# QEMU's migration runs unthrottled (max-bandwidth 1 TiB/s, as libvirt's save to a file; the default is 128 MiB/s).
# Both VMMs get the same treatment from the same driver (one python3 process per round), so the figures compare.
# Prints every round and the medians and Mesovirt/QEMU ratios, and writes every run's figures as JSON lines
# (jmh/bench/lib.sh) to snapshot.jsonl plus a note (snapshot.note) in MESOVIRT_HOST_OUT (default jmh/target/bench,
# replaced only by a complete set), where jmh/run.sh's table picks them up.
#
# usage: ci/bench/snapshot-bench.sh [N]     (default 3 rounds; needs mvn -B package first)
# The dist (cli/target/dist, or MESOVIRT_BIN) is copied into the cache first, so a build during the run (mvn package
# empties cli/target/dist) cannot change what is measured. Mesovirt runs with the launcher's defaults (its JVM options,
# the class-data archive if the dist has one: the note says which).
# The figures come from software emulation (TCG) running a nested KVM: compare the ratio, not the absolute values.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
usage() { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
case ${1:-} in ''|[0-9]*) ;; *) usage ;; esac
N=${1:-3}
MESOVIRT=${MESOVIRT_BIN:-$ROOT/cli/target/dist/bin/mesovirt}
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  [ -x "$MESOVIRT" ] || { echo "snapshot-bench: run 'mvn -B package' first" >&2; exit 2; }
  bash "$ROOT/ci/guest-image.sh" x86_64 >/dev/null || exit 2
  bench_in_host snapshot $((600 + N * 2 * 600)) "$HERE/snapshot-bench.sh" "$N"
fi
. "$ROOT/jmh/bench/lib.sh"

IMG=${MESOVIRT_CACHE:-$HOME/.cache/mesovirt}/guest/x86_64
KERNEL=$IMG/vmlinuz-cloud INITRD=$IMG/initrd-cloud.gz
APPEND="console=ttyS0 quiet guest.shell=1"
WORK=$(mktemp -d /tmp/snapshot-bench.XXXXXX)
DISK=$WORK/disk.img
truncate -s 8M "$DISK"
RESULTS=$WORK/results
QEMU_VERSION=$(bench_qemu_version)
# QEMU's file: migration URI came with 8.2; before it, the stream goes through a shell command. Either way it is one
# file, written and read back sequentially.
if printf '%s\n' 8.2 "$QEMU_VERSION" | sort -V -C; then
  qemu_out() { echo "file:$1"; }
  qemu_in() { echo "file:$1"; }
  QEMU_URI=file:PATH
else
  qemu_out() { echo "exec:cat > $1"; }
  qemu_in() { echo "exec:cat $1"; }
  QEMU_URI='exec:cat > PATH, -incoming "exec:cat PATH"'
fi
ARCHIVE=none
[ -f "$(dirname "$MESOVIRT")/../lib/mesovirt.jsa" ] && ARCHIVE="a dynamic CDS archive (lib/mesovirt.jsa)"
[ -f "$(dirname "$MESOVIRT")/../lib/mesovirt.aot" ] && ARCHIVE="an AOT cache (lib/mesovirt.aot)"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# sizes FILE...: "APPARENT_MIB DISK_MIB" of the files together.
sizes() {
  local apparent=0 disk=0 f
  for f in "$@"; do
    [ -f "$f" ] || { echo "NA NA"; return; }
    apparent=$((apparent + $(stat -c %s "$f"))) disk=$((disk + $(stat -c '%b * %B' "$f")))
  done
  echo "$(mib "$apparent") $(mib "$disk")"
}

# run NAME SNAPSHOT-FILES DRIVER-ARGS...: one round of one VMM; appends "NAME snapshot S apparent MIB disk MIB restore
# S answer S" to RESULTS (NA for a failed round) and removes the snapshot (SNAPSHOT-FILES: paths without spaces).
run() {
  local name=$1 files=$2 out result s r a
  shift 2
  out=$(timeout 1500 /usr/bin/python3 "$HERE/snapshot-run.py" "$@" 2>&1)
  result=$(printf '%s\n' "$out" | grep '^RESULT ')
  s=$(sed -n 's/.* snapshot_s=\([^ ]*\).*/\1/p' <<<"$result")
  r=$(sed -n 's/.* restore_s=\([^ ]*\).*/\1/p' <<<"$result")
  a=$(sed -n 's/.* answer_s=\([^ ]*\).*/\1/p' <<<"$result")
  # shellcheck disable=SC2086
  read -r apparent disk <<<"$(sizes $files)"
  [ -n "$result" ] || apparent=NA disk=NA
  echo "$name snapshot ${s:-NA} apparent $apparent disk $disk restore ${r:-NA} answer ${a:-NA}" | tee -a "$RESULTS"
  if [ -n "$result" ]; then echo "    ${result#RESULT }"; else printf '%s\n' "$out" | tail -40 | sed 's/^/    /'; fi
  # shellcheck disable=SC2086
  rm -rf $files
}

START=$(date -u +%FT%TZ) LOAD=$(bench_load)
echo "snapshot-bench: $N rounds, -m 256 -smp 2, QEMU $QEMU_VERSION ($QEMU_URI), Mesovirt's class-data archive: $ARCHIVE;" \
  "emulated host $(uname -r) with $(nproc) CPUs"
for i in $(seq "$N"); do
  d=$WORK/mesovirt-$i
  mkdir -p "$d"
  run mesovirt "$d/snap/state $d/snap/memory" "$d" "file:$d/snap" "file:$d/snap" \
    "$MESOVIRT" -machine microvm -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" -m 256 -smp 2 -serial stdio \
    -drive id=d0,file="$DISK" -device virtio-blk-device,drive=d0,id=blk0,serial=snap-disk -D "$d/vmm.log"
  d=$WORK/qemu-$i
  mkdir -p "$d"
  run qemu "$d/snap.mig" --qemu "$d" "$(qemu_out "$d/snap.mig")" "$(qemu_in "$d/snap.mig")" \
    qemu-system-x86_64 -M microvm -accel kvm -cpu host -m 256 -smp 2 -nodefaults -no-user-config -nographic \
    -serial stdio -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
    -drive id=d0,file="$DISK",format=raw,if=none -device virtio-blk-device,drive=d0,id=blk0,serial=snap-disk
done
awk "$BENCH_MEDIAN"'
  $3 != "NA" && $9 != "NA" && $11 != "NA" { n[$1]++; s[$1, n[$1]] = $3; a[$1, n[$1]] = $5; d[$1, n[$1]] = $7; r[$1, n[$1]] = $9; q[$1, n[$1]] = $11 }
  END {
    for (v in n) { for (i = 1; i <= n[v]; i++) { sa[i] = s[v, i]; aa[i] = a[v, i]; da[i] = d[v, i]; ra[i] = r[v, i]; qa[i] = q[v, i] }
      ms[v] = median(sa, n[v]); ma[v] = median(aa, n[v]); md[v] = median(da, n[v]); mr[v] = median(ra, n[v]); mq[v] = median(qa, n[v])
      printf "%-9s runs %d  snapshot median %.3f s, %.1f MiB apparent, %.1f MiB on disk; restore to running median %.2f s, then first answer %.3f s\n",
        v, n[v], ms[v], ma[v], md[v], mr[v], mq[v] }
    if (n["mesovirt"] && n["qemu"])
      printf "ratio mesovirt/qemu: snapshot time %.2f, apparent size %.2f, size on disk %.2f, restore to running %.2f, first answer %.2f\n",
        ms["mesovirt"] / ms["qemu"], ma["mesovirt"] / ma["qemu"], md["mesovirt"] / md["qemu"], mr["mesovirt"] / mr["qemu"], mq["mesovirt"] / mq["qemu"]
  }' "$RESULTS"

rc=0
grep -q ' NA' "$RESULTS" && { echo "snapshot-bench: some rounds failed (see above)" >&2; rc=1; }
[ -n "${MESOVIRT_HOST_OUT:-}" ] || exit $rc
field() { bench_field "$RESULTS" "$@"; } # VMM COLUMN -> one value per run
HOST="(emulated x86_64 KVM host)"
MESOVIRT_LABEL="Mesovirt microvm (file:DIR: state + sparse memory file; restore maps it)"
QEMU_LABEL="QEMU $QEMU_VERSION microvm (${QEMU_URI%%,*}: one stream, unthrottled; restore + cont)"
LINES=$WORK/snapshot.jsonl
for f in "3 save s|snapshot of the paused guest: migrate -> query-migrate \"completed\", -m 256 -smp 2" \
  "5 size MiB|snapshot size, apparent (state + memory), -m 256" \
  "7 disk MiB|snapshot size on disk (allocated blocks, tmpfs), -m 256" \
  "9 restore s|restore to running: VMM start (-incoming) -> the guest's next console tick, -m 256 -smp 2" \
  "11 answer s|restored guest's first answer: serial input typed at its first tick -> the shell's answer"; do
  read -r col key unit <<<"${f%%|*}"
  # shellcheck disable=SC2046
  json_line "$LINES" "snapshot.$key.mesovirt" "snapshot.$key.qemu" "$unit" lower "${f#*|} $HOST" "$MESOVIRT_LABEL" \
    $(field mesovirt "$col")
  # shellcheck disable=SC2046
  json_line "$LINES" "snapshot.$key.qemu" "" "$unit" lower "${f#*|} $HOST" "$QEMU_LABEL" $(field qemu "$col")
done
# Only a complete set replaces the previous results.
grep -q '"samples":\[\]' "$LINES" && { echo "snapshot-bench: $MESOVIRT_HOST_OUT/snapshot.jsonl left as it was" >&2; exit 1; }
HEALTH="Every restored guest answered serial input and powered off with exit 0."
[ $rc = 0 ] || HEALTH="FAILED rounds (no samples from them): $(grep -c ' NA' "$RESULTS") of $((2 * N)); every other restored guest answered serial input and powered off with exit 0."
cp "$LINES" "$MESOVIRT_HOST_OUT/snapshot.jsonl.tmp" && mv "$MESOVIRT_HOST_OUT/snapshot.jsonl.tmp" "$MESOVIRT_HOST_OUT/snapshot.jsonl"
printf '%s\n' "**snapshot** (\`ci/bench/snapshot-bench.sh $N\`, $START): $N rounds, each running Mesovirt then QEMU microvm (\`-accel kvm -cpu host\`) once, inside the emulated x86_64 KVM host (QEMU TCG \`-cpu max\`, Linux $(uname -r), $(nproc) vCPUs, nested \`kvm_amd\`); guest: Debian cloud kernel, test initramfs with its shell on the serial console and a ticker (a line every 0.2 s), \`-m 256 -smp 2\`, a virtio-blk-device disk, QMP on a unix socket; stopped right after a tick. Snapshot: Mesovirt \`migrate\` to \`file:DIR\`, QEMU $QEMU_VERSION to \`${QEMU_URI%%,*}\` (max-bandwidth 1 TiB/s, as libvirt's save), on the emulated host's tmpfs; sizes after \`quit\`. Restore: the same command line with \`-incoming\`, to the restored guest's first tick (which includes the rest of the ticker's 0.2 s sleep, for both); QEMU restores its source's paused state and is sent \`cont\` as soon as query-status leaves \"inmigrate\". $HEALTH Mesovirt's launcher defaults, class-data archive: $ARCHIVE. Compare ratios, not absolute values. Load average (1, 5, 15 min) of the emulated host at the start: $LOAD; at the end: $(bench_load)." \
  > "$MESOVIRT_HOST_OUT/snapshot.note"
echo "snapshot-bench: results in $MESOVIRT_HOST_OUT/snapshot.jsonl"
exit $rc
