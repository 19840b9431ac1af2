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
# then dev.mesovirt.jmh.report.ResultsTable makes the table from every result file in the results directory, keeping
# from the table it replaces the rows of the parts that have no result file there (--keep: their source column says
# which file they came from, their note when).
# Raw results go to jmh/target/bench/ (jmh-*.json, *.jsonl), with a note per part (PART.note: counts, when, load
# average) that the table shows. About 3 minutes with the defaults, plus the build.
#
# Where: virtqueue runs in-process; exit, startup and memory need /dev/kvm and run on this machine's when it is usable
# (kvm_pvm runs them: the guest stalls after set-up, which is all they measure), else inside the emulated x86_64 KVM
# host (ci/kvm.sh; MESOVIRT_KVM=emulated forces it), whose results are files named *-emulated-x86_64.* that the
# table shows as rows of their own, "(emulated x86_64 KVM host)".
#
# usage: bash jmh/run.sh [--no-build] [--quick] [--only virtqueue,exit,startup,memory|table] [--out DIR]
#   --no-build  use the jars as they are (default: ci/install-deps.sh, mvn -B -q package -DskipTests,
#               bin/mesovirt --train and ci/guest-image.sh x86_64 first)
#   --quick     a smoke run: JMH 1 warm-up + 2 measurement iterations, 3 start-up rounds, 2 memory runs, fewer exits
#   --only      run only these parts (the table is still made from every result file in the results directory);
#               --only table: no part, just the table (e.g. after ci/bench/*.sh added their results)
#   --out DIR   raw results and the table (DIR/benchmarks.md, .json) go to DIR instead of jmh/target/bench/ and docs/
# Counts (environment): JMH_ARGS (default "-f 1 -wi 3 -i 5 -w 1 -r 1"), STARTUP_RUNS (5), MEMORY_RUNS (3),
# MEMORY_WAIT (5 s), EXITS (200000 per C sample; 20000 in the emulated host, where an exit costs ~10x more),
# EXIT_REPEATS (3 C samples before JMH and 3 after);
# MEMORY_JAVA_OPTS adds a Mesovirt variant with those JVM options to the memory figure.
# The figures from inside the emulated KVM host (real Linux boots), into the same directory for the table:
# ci/bench/boot-jmh.sh, ci/bench/blk-bench.sh, ci/bench/fs-bench.sh, ci/bench/snapshot-bench.sh,
# ci/bench/exit-emulated.sh (this "exit" part there, always).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. ci/env.sh
. ci/kvm.sh
mv_kvm_probe || exit 2

build=1 only=virtqueue,exit,startup,memory out_dir= tag= table=1 quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --quick) quick=1 ;;
    --only) only=${2:?--only needs a list}; shift ;;
    --out) out_dir=${2:?--out needs a directory}; shift ;;
    # Internal, for the run inside the emulated host: result files named NAME-TAG.*, no table there.
    --tag) tag=-${2:?--tag needs a word}; shift ;;
    --no-table) table=0 ;;
    *) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
  shift
done
default_exits=200000
[ "${MESOVIRT_IN_EMULATED_HOST:-}" = 1 ] && default_exits=20000
JMH_ARGS=${JMH_ARGS:--f 1 -wi 3 -i 5 -w 1 -r 1}
STARTUP_RUNS=${STARTUP_RUNS:-5} MEMORY_RUNS=${MEMORY_RUNS:-3} MEMORY_WAIT=${MEMORY_WAIT:-5}
EXITS=${EXITS:-$default_exits} EXIT_REPEATS=${EXIT_REPEATS:-3}
if [ $quick = 1 ]; then
  JMH_ARGS="-f 1 -wi 1 -i 2 -w 1 -r 1" STARTUP_RUNS=3 MEMORY_RUNS=2 MEMORY_WAIT=3 EXITS=$((default_exits / 4)) EXIT_REPEATS=2
fi
part() { [[ ",$only," == *",$1,"* ]]; }
# The parts that need /dev/kvm go to the emulated x86_64 host as one run when this machine has no usable one.
hosted=
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ] && [ "$MV_KVM_TINY" = emulated ]; then
  for p in exit startup memory; do part $p && hosted=$hosted${hosted:+,}$p; done
fi

OUT=$ROOT/jmh/target/bench MD=docs/benchmarks.md JSON=docs/benchmarks.json
if [ -n "$out_dir" ]; then
  mkdir -p "$out_dir" && OUT=$(cd "$out_dir" && pwd) && MD=$OUT/benchmarks.md JSON=$OUT/benchmarks.json || exit 2
fi
if [ $build = 1 ]; then
  echo "== build"
  bash ci/install-deps.sh || exit 1
  mvn -B -q -ntp package -DskipTests || exit 1
  bash ci/guest-image.sh x86_64 >/dev/null || exit 1 # the Debian kernel + initrd of start-up and memory
  bash ci/kvm-jobs.sh train || echo "run.sh: no class-data archive in the dist (see above)"
fi
[ -f jmh/target/benchmarks.jar ] || { echo "run.sh: no jmh/target/benchmarks.jar: build first" >&2; exit 2; }
mkdir -p "$OUT"
# A private copy of what is measured, so that a build running meanwhile (mvn package empties cli/target/dist) cannot
# change it halfway. The dist (start-up and memory only) keeps its class-data archive; without one it is trained
# here, as CI would.
SNAP=$(mktemp -d "${TMPDIR:-/tmp}/mesovirt-bench.XXXXXX") || exit 2
trap 'rm -rf "$SNAP"' EXIT
cp jmh/target/benchmarks.jar "$SNAP/" || exit 2
if [ -z "$hosted" ] && { part startup || part memory; }; then
  [ -x cli/target/dist/bin/mesovirt ] || { echo "run.sh: no cli/target/dist: build first" >&2; exit 2; }
  cp -a cli/target/dist "$SNAP/dist" || exit 2
  if ! [ -f "$SNAP/dist/lib/mesovirt.aot" ] && ! [ -f "$SNAP/dist/lib/mesovirt.jsa" ]; then
    "$SNAP/dist/bin/mesovirt" --train || echo "run.sh: the dist has no class-data archive (see above)"
  fi
fi
rc=0
start=$SECONDS
where=
[ "${MESOVIRT_IN_EMULATED_HOST:-}" = 1 ] && where=" Run inside the emulated x86_64 KVM host (QEMU TCG \`-cpu max\`, Linux $(uname -r), $(nproc) vCPUs, nested \`kvm_amd\`): compare ratios, not absolute values."
if [ -n "$hosted" ]; then
  echo "== $hosted $(mv_kvm_where emulated)"
  # The run there snapshots the jars and the dist into its own /tmp, as a run here does.
  MESOVIRT_HOST_OUT=$OUT MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-3600} \
    MESOVIRT_HOST_ENV="JMH_ARGS STARTUP_RUNS MEMORY_RUNS MEMORY_WAIT EXITS EXIT_REPEATS MEMORY_JAVA_OPTS" \
    bash ci/emulated-host.sh x86_64 "$ROOT/jmh/run.sh" --no-build --no-table --only "$hosted" --out "$OUT" \
    --tag emulated-x86_64 $([ $quick = 1 ] && echo --quick) || rc=1
  only=$(tr ',' '\n' <<<"$only" | grep -v -x -E 'exit|startup|memory' | paste -sd,)
fi

# part_begin, then part_note PART WHAT when PART is done: its note for the table (OUT/PART.note, replaced). A native
# part's note names the machine: a later table on another machine may keep its rows (ResultsTable --keep).
[ -z "$where" ] && where=" Measured on Linux $(uname -r), $(nproc) CPUs, $MV_KVM_FOUND."
part_start= part_load=
part_begin() { part_start=$(date -u +%FT%TZ) part_load=$(cut -d' ' -f1-3 /proc/loadavg); }
part_note() {
  printf '%s\n' "**$1$tag** (\`jmh/run.sh\`, $part_start): $2. Load average (1, 5, 15 min) at the start: $part_load; at the end: $(cut -d' ' -f1-3 /proc/loadavg).$where" \
    >"$OUT/$1$tag.note"
}

jmh() { # NAME REGEX: one JMH run into $OUT/jmh-NAME$tag.json
  echo "== JMH $2 ($JMH_ARGS)"
  rm -f "$OUT/jmh-$1$tag.json"
  # shellcheck disable=SC2086
  java --enable-native-access=ALL-UNNAMED -jar "$SNAP/benchmarks.jar" $JMH_ARGS -rf json -rff "$OUT/jmh-$1$tag.json" "$2" \
    || rc=1
}
if part virtqueue; then
  part_begin
  jmh virtqueue 'VirtqueueBenchmark'
  part_note virtqueue "JMH options \`$JMH_ARGS\`"
fi
if part exit; then
  part_begin
  rm -f "$OUT/exit-loop$tag.jsonl"
  # The C loop is compiled into a build directory of its own (the emulated host sees the tree read-only).
  cbuild=$SNAP/c
  echo "== C exit loop (before JMH)"
  bash jmh/bench/exit-loop.sh -b "$cbuild" -o "$OUT/exit-loop$tag.jsonl" -e "$EXITS" -r "$EXIT_REPEATS" || rc=1
  jmh exit 'ExitPathBenchmark'
  echo "== C exit loop (after JMH)"
  bash jmh/bench/exit-loop.sh -b "$cbuild" -o "$OUT/exit-loop$tag.jsonl" -e "$EXITS" -r "$EXIT_REPEATS" || rc=1
  part_note exit "JMH options \`$JMH_ARGS\`; C exit loop: 2 × $EXIT_REPEATS × $EXITS exits (before and after JMH's)"
fi
if part startup; then
  part_begin
  echo "== start-up"
  rm -f "$OUT/startup$tag.jsonl"
  bash jmh/bench/startup.sh -n "$STARTUP_RUNS" -o "$OUT/startup$tag.jsonl" -d "$SNAP/dist" || rc=1
  part_note startup "$STARTUP_RUNS rounds"
fi
if part memory; then
  part_begin
  echo "== memory"
  rm -f "$OUT/memory$tag.jsonl"
  bash jmh/bench/memory.sh -n "$MEMORY_RUNS" -s "$MEMORY_WAIT" -o "$OUT/memory$tag.jsonl" -d "$SNAP/dist" || rc=1
  part_note memory "$MEMORY_RUNS runs, sampled after $MEMORY_WAIT s"
fi

if [ $table = 0 ]; then
  echo "run.sh: $((SECONDS - start)) s, exit $rc (no table: --no-table)"
  exit $rc
fi
echo "== table"
args=()
for f in "$OUT"/jmh-*.json; do
  [ -f "$f" ] && args+=(--jmh "$f")
done
for f in "$OUT"/*.jsonl; do
  [ -f "$f" ] && args+=(--lines "$f")
done
note="This machine: $MV_KVM_FOUND."
if [[ $MV_KVM_FOUND == *kvm_pvm ]]; then
  note+=" It runs the tiny guests of the exit benchmarks, and Mesovirt and QEMU set up the Debian guest fully, but the"
  note+=" guest then stalls, so start-up and memory are measured up to there."
fi
note+=" Rows marked \"(emulated ARCH KVM host)\" come from inside the emulated KVM host of that architecture (ci/README.md), where Linux boots; without a usable /dev/kvm here, jmh/run.sh measures its exit, start-up and memory parts there too."
args+=(--note "$note")
for f in "$OUT"/*.note; do # how each part's results were made, in file-name order
  [ -f "$f" ] && args+=(--note-file "$f")
done
# The table it replaces gives the rows (and notes) of every part with no result file here, e.g. in a fresh checkout
# after only ci/bench/blk-bench.sh: they stay as they were instead of vanishing.
[ -f "$JSON" ] && args+=(--keep "$JSON")
java -cp "$SNAP/benchmarks.jar" dev.mesovirt.jmh.report.ResultsTable "${args[@]}" --md "$MD" --json "$JSON" || rc=1
echo "run.sh: $((SECONDS - start)) s, exit $rc"
exit $rc
