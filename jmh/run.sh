#!/bin/bash
# Runs every benchmark that runs natively on this machine and writes docs/benchmarks.md and docs/benchmarks.json.
# Parts (--only):
#   virtqueue  JMH VirtqueueBenchmark: virtio-blk requests/s through the device path, in-process
#   exit       JMH ExitPathBenchmark (ns per port-I/O / MMIO exit through Mesovirt's vCPU loop on /dev/kvm) between
#              two runs of its C reference, jmh/bench/exit-loop.sh (raw ioctls), which this machine's drift from
#              minute to minute would otherwise bias
#   startup    jmh/bench/startup.sh: execve -> first KVM_RUN and exit-at-entry wall time; no archive, AppCDS, AOT
#              cache, QEMU
#   memory     jmh/bench/memory.sh: VMM resident memory without guest RAM, Mesovirt vs QEMU
# then dev.mesovirt.jmh.report.ResultsTable makes the table from every result file in the results directory.
# Raw results go to jmh/target/bench/ (jmh-*.json, *.jsonl), with a note per part (PART.note: counts, when, load
# average) that the table shows. About 3 minutes with the defaults, plus the build.
#
# usage: bash jmh/run.sh [--no-build] [--quick] [--only virtqueue,exit,startup,memory|table] [--out DIR]
#   --no-build  use the jars as they are (default: ci/install-deps.sh, mvn -B -q package -DskipTests,
#               bin/mesovirt --train and ci/guest-image.sh x86_64 first)
#   --quick     a smoke run: JMH 1 warm-up + 2 measurement iterations, 3 start-up rounds, 2 memory runs, fewer exits
#   --only      run only these parts (the table is still made from every result file in the results directory);
#               --only table: no part, just the table (e.g. after ci/bench/*.sh added their results)
#   --out DIR   raw results and the table (DIR/benchmarks.md, .json) go to DIR instead of jmh/target/bench/ and docs/
#               (e.g. a MESOVIRT_HOST_OUT directory when this runs inside the emulated KVM host; see jmh/README.md)
# Counts (environment): JMH_ARGS (default "-f 1 -wi 3 -i 5 -w 1 -r 1"), STARTUP_RUNS (5), MEMORY_RUNS (3),
# MEMORY_WAIT (5 s), EXITS (200000 per C sample), EXIT_REPEATS (3 C samples before JMH and 3 after);
# MEMORY_JAVA_OPTS adds a Mesovirt variant with those JVM options to the memory figure.
# The figures from inside the emulated KVM host (real Linux boots), into the same directory for the table:
# ci/bench/boot-jmh.sh, ci/bench/blk-bench.sh, ci/bench/exit-emulated.sh (this "exit" part there).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. ci/env.sh

build=1 only=virtqueue,exit,startup,memory out_dir=
JMH_ARGS=${JMH_ARGS:--f 1 -wi 3 -i 5 -w 1 -r 1}
STARTUP_RUNS=${STARTUP_RUNS:-5} MEMORY_RUNS=${MEMORY_RUNS:-3} MEMORY_WAIT=${MEMORY_WAIT:-5}
EXITS=${EXITS:-200000} EXIT_REPEATS=${EXIT_REPEATS:-3}
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --quick)
      JMH_ARGS="-f 1 -wi 1 -i 2 -w 1 -r 1" STARTUP_RUNS=3 MEMORY_RUNS=2 MEMORY_WAIT=3 EXITS=50000 EXIT_REPEATS=2 ;;
    --only) only=${2:?--only needs a list}; shift ;;
    --out) out_dir=${2:?--out needs a directory}; shift ;;
    *) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
  shift
done
part() { [[ ",$only," == *",$1,"* ]]; }

OUT=$ROOT/jmh/target/bench MD=docs/benchmarks.md JSON=docs/benchmarks.json
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir" && OUT=$(cd "$out_dir" && pwd) && MD=$OUT/benchmarks.md JSON=$OUT/benchmarks.json || exit 2
fi
if [ $build = 1 ]; then
  echo "== build"
  bash ci/install-deps.sh || exit 1
  mvn -B -q -ntp package -DskipTests || exit 1
  bash ci/guest-image.sh x86_64 >/dev/null || exit 1 # the Debian kernel + initrd of start-up and memory
  cli/target/dist/bin/mesovirt --train || echo "run.sh: no class-data archive in the dist (see above)"
fi
[ -f jmh/target/benchmarks.jar ] || { echo "run.sh: no jmh/target/benchmarks.jar: build first" >&2; exit 2; }
mkdir -p "$OUT"
# A private copy of what is measured, so that a build running meanwhile (mvn package empties cli/target/dist) cannot
# change it halfway. The dist (start-up and memory only) keeps its class-data archive; without one it is trained
# here, as CI would.
SNAP=$(mktemp -d "${TMPDIR:-/tmp}/mesovirt-bench.XXXXXX") || exit 2
trap 'rm -rf "$SNAP"' EXIT
cp jmh/target/benchmarks.jar "$SNAP/" || exit 2
if part startup || part memory; then
  [ -x cli/target/dist/bin/mesovirt ] || { echo "run.sh: no cli/target/dist: build first" >&2; exit 2; }
  cp -a cli/target/dist "$SNAP/dist" || exit 2
  if ! [ -f "$SNAP/dist/lib/mesovirt.aot" ] && ! [ -f "$SNAP/dist/lib/mesovirt.jsa" ]; then
    "$SNAP/dist/bin/mesovirt" --train || echo "run.sh: the dist has no class-data archive (see above)"
  fi
fi
rc=0
start=$SECONDS
where=
[ "${MESOVIRT_IN_EMULATED_HOST:-}" = 1 ] && where=" Run inside the emulated x86_64 KVM host (QEMU TCG, nested KVM): compare ratios, not absolute values."

# part_begin, then part_note PART WHAT when PART is done: its note for the table (OUT/PART.note, replaced).
part_start= part_load=
part_begin() { part_start=$(date -u +%FT%TZ) part_load=$(cut -d' ' -f1-3 /proc/loadavg); }
part_note() {
  printf '%s\n' "**$1** (\`jmh/run.sh\`, $part_start): $2. Load average (1, 5, 15 min) at the start: $part_load; at the end: $(cut -d' ' -f1-3 /proc/loadavg).$where" \
    >"$OUT/$1.note"
}

jmh() { # NAME REGEX: one JMH run into $OUT/jmh-NAME.json
  echo "== JMH $2 ($JMH_ARGS)"
  rm -f "$OUT/jmh-$1.json"
  # shellcheck disable=SC2086
  java --enable-native-access=ALL-UNNAMED -jar "$SNAP/benchmarks.jar" $JMH_ARGS -rf json -rff "$OUT/jmh-$1.json" "$2" \
    || rc=1
}
if part virtqueue; then
  part_begin
  jmh virtqueue 'VirtqueueBenchmark'
  part_note virtqueue "JMH options \`$JMH_ARGS\`"
fi
if part exit; then
  part_begin
  rm -f "$OUT/exit-loop.jsonl"
  echo "== C exit loop (before JMH)"
  bash jmh/bench/exit-loop.sh -o "$OUT/exit-loop.jsonl" -e "$EXITS" -r "$EXIT_REPEATS" || rc=1
  jmh exit 'ExitPathBenchmark'
  echo "== C exit loop (after JMH)"
  bash jmh/bench/exit-loop.sh -o "$OUT/exit-loop.jsonl" -e "$EXITS" -r "$EXIT_REPEATS" || rc=1
  part_note exit "JMH options \`$JMH_ARGS\`; C exit loop: 2 × $EXIT_REPEATS × $EXITS exits (before and after JMH's)"
fi
if part startup; then
  part_begin
  echo "== start-up"
  rm -f "$OUT/startup.jsonl"
  bash jmh/bench/startup.sh -n "$STARTUP_RUNS" -o "$OUT/startup.jsonl" -d "$SNAP/dist" || rc=1
  part_note startup "$STARTUP_RUNS rounds"
fi
if part memory; then
  part_begin
  echo "== memory"
  rm -f "$OUT/memory.jsonl"
  bash jmh/bench/memory.sh -n "$MEMORY_RUNS" -s "$MEMORY_WAIT" -o "$OUT/memory.jsonl" -d "$SNAP/dist" || rc=1
  part_note memory "$MEMORY_RUNS runs, sampled after $MEMORY_WAIT s"
fi

echo "== table"
args=()
for f in "$OUT"/jmh-*.json; do
  [ -f "$f" ] && args+=(--jmh "$f")
done
for f in "$OUT"/*.jsonl; do
  [ -f "$f" ] && args+=(--lines "$f")
done
if [ -d /sys/module/kvm_pvm ]; then
  note="This machine's /dev/kvm is kvm_pvm: it runs the tiny guests of the exit benchmarks, and Mesovirt and QEMU"
  note+=" set up the Debian guest fully, but the guest then stalls, so start-up and memory are measured up to there."
  note+=" Rows marked \"(emulated ARCH KVM host)\" come from inside the emulated KVM host of that architecture (ci/README.md), where Linux boots."
  args+=(--note "$note")
fi
for f in "$OUT"/*.note; do # how each part's results were made, in file-name order
  [ -f "$f" ] && args+=(--note "$(cat "$f")")
done
java -cp "$SNAP/benchmarks.jar" dev.mesovirt.jmh.report.ResultsTable "${args[@]}" --md "$MD" --json "$JSON" || rc=1
echo "run.sh: $((SECONDS - start)) s, exit $rc"
exit $rc
