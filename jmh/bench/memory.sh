#!/bin/bash
# VMM memory benchmark (native; not a test): resident memory of the VMM process itself, without guest RAM, for
# Mesovirt (the distribution as built: with lib/mesovirt.aot or .jsa if present) and QEMU's microvm with the same
# kernel, initrd, -m and -smp. Each run starts the VMM, waits SECONDS, reads /proc/PID/smaps and kills it.
# On this machine's kvm_pvm the Debian guest stalls early, but the VMM is fully set up by then (memory, devices,
# vCPU threads, kernel and initrd loaded), which is what is measured.
#
#   Rss excl. guest RAM = sum of Rss over all mappings - Rss of the guest-RAM mapping. The guest-RAM mapping is
#   the anonymous mapping whose size is -m (or up to 4 MiB more: the kernel may merge the mmap with an adjacent
#   anonymous mapping; the closest to -m wins). Shared pages (libjvm, the JDK's modules, the AOT cache, libc...)
#   count in full, as Rss does.
#
# usage: jmh/bench/memory.sh [-n RUNS] [-s SECONDS] [-m MIB] [-o OUT.jsonl] [-d DIST] [-k BZIMAGE] [-i INITRD]
#   defaults: 3 runs, 5 s, 256 MiB, jmh/target/bench/memory.jsonl (appended), cli/target/dist, the cloud kernel
#   of ci/guest-image.sh. $MEMORY_JAVA_OPTS, if set, adds a third variant: Mesovirt with those JVM options.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"

RUNS=3 WAIT=5 MIB=256 OUT=$ROOT/jmh/target/bench/memory.jsonl DIST=$ROOT/cli/target/dist
KERNEL=$(guest_dir)/vmlinuz-cloud INITRD=$(guest_dir)/initrd-cloud.gz
while getopts n:s:m:o:d:k:i: opt; do
  case $opt in
    n) RUNS=$OPTARG ;; s) WAIT=$OPTARG ;; m) MIB=$OPTARG ;; o) OUT=$OPTARG ;; d) DIST=$OPTARG ;; k) KERNEL=$OPTARG ;;
    i) INITRD=$OPTARG ;;
    *) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
die() { echo "memory.sh: $*" >&2; exit 2; }
[ -x "$DIST/bin/mesovirt" ] || die "no $DIST/bin/mesovirt: run 'mvn -B package -DskipTests' first"
[ -r "$KERNEL" ] && [ -r "$INITRD" ] || die "no kernel/initrd ($KERNEL, $INITRD): run 'bash ci/guest-image.sh x86_64'"
[ -w /dev/kvm ] || die "/dev/kvm is not usable"
QEMU=$(command -v qemu-system-x86_64 || true)
mkdir -p "$(dirname "$OUT")"
APPEND="console=ttyS0 quiet guest.sleep=3600" # on a real KVM the test guest would power off at once

# smaps_kib PID: "total_rss guest_rss guest_size" in KiB.
smaps_kib() {
  awk -v want=$((MIB * 1024)) '
    /^[0-9a-f]+-[0-9a-f]+ / { anon = (NF <= 5) }
    /^Size:/ { size = $2 }
    /^Rss:/ { total += $2
              if (anon && size >= want && size <= want + 4096 && (best == "" || size - want < best)) {
                best = size - want; guest = $2; gsize = size } }
    END { printf "%d %s %s\n", total, (guest == "" ? "NA" : guest), (gsize == "" ? "NA" : gsize) }' "/proc/$1/smaps"
}

# measure VARIANT: starts it, waits, prints "rss_excl_guest_mib total_mib".
measure() {
  local pid
  case $1 in
    qemu)
      "$QEMU" -M microvm -accel kvm -cpu host -m "$MIB" -smp 1 -nodefaults -no-user-config -nographic -serial stdio \
        -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" </dev/null >/dev/null 2>&1 &
      pid=$! ;;
    mesovirt-opts)
      MESOVIRT_JAVA_OPTS=$MEMORY_JAVA_OPTS "$DIST/bin/mesovirt" -machine microvm -kernel "$KERNEL" -initrd "$INITRD" \
        -append "$APPEND" -m "$MIB" -smp 1 -serial stdio </dev/null >/dev/null 2>&1 &
      pid=$! ;;
    *)
      "$DIST/bin/mesovirt" -machine microvm -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" -m "$MIB" -smp 1 \
        -serial stdio </dev/null >/dev/null 2>&1 &
      pid=$! ;;
  esac
  sleep "$WAIT"
  local total guest gsize
  if kill -0 "$pid" 2>/dev/null; then
    read -r total guest gsize <<<"$(smaps_kib "$pid")"
  fi
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if [ -z "${total:-}" ] || [ "$guest" = NA ]; then
    echo "memory.sh: $1 exited early or has no $MIB MiB guest-RAM mapping" >&2
    echo "NA NA"
    return
  fi
  awk -v t="$total" -v g="$guest" 'BEGIN { printf "%.1f %.1f\n", (t - g) / 1024, t / 1024 }'
}

variants=(mesovirt)
[ -n "${MEMORY_JAVA_OPTS:-}" ] && variants+=(mesovirt-opts)
[ -n "$QEMU" ] && variants+=(qemu)
archive=none
[ -f "$DIST/lib/mesovirt.jsa" ] && archive=AppCDS
[ -f "$DIST/lib/mesovirt.aot" ] && archive="AOT cache"
echo "memory: $RUNS runs of ${variants[*]}, -m $MIB, sampled after $WAIT s; Mesovirt dist archive: $archive"
declare -A X T
for i in $(seq "$RUNS"); do
  for v in "${variants[@]}"; do
    read -r x t <<<"$(measure "$v")"
    X[$v]+=" $x"
    T[$v]+=" $t"
    printf 'run %d %-13s Rss excl. guest RAM %8s MiB   Rss total %8s MiB\n' "$i" "$v" "$x" "$t"
  done
done

label() {
  case $1 in
    mesovirt) echo "Mesovirt (archive: $archive)" ;;
    mesovirt-opts) echo "Mesovirt, MESOVIRT_JAVA_OPTS=$MEMORY_JAVA_OPTS" ;;
    qemu) echo "QEMU $("$QEMU" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') microvm" ;;
  esac
}
for v in "${variants[@]}"; do
  peer=
  [ "$v" != qemu ] && [ -n "$QEMU" ] && peer=qemu
  read -r xm xlo xhi _ <<<"$(stats ${X[$v]})"
  printf '%-45s Rss excl. guest RAM median %s MiB (%s..%s)\n' "$(label "$v")" "$xm" "$xlo" "$xhi"
  # shellcheck disable=SC2086
  json_line "$OUT" "memory.rss-excl-guest.$v" "${peer:+memory.rss-excl-guest.$peer}" MiB lower \
    "VMM resident memory excluding guest RAM (-m $MIB, after $WAIT s)" "$(label "$v")" ${X[$v]}
  # shellcheck disable=SC2086
  json_line "$OUT" "memory.rss-total.$v" "${peer:+memory.rss-total.$peer}" MiB lower \
    "VMM resident memory including guest RAM (-m $MIB, after $WAIT s)" "$(label "$v")" ${T[$v]}
done
echo "memory.sh: results appended to $OUT"
