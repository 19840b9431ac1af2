#!/usr/bin/env bash
# The long fuzzing run (not part of CI; docs/fuzzing.md): each Jazzer target in turn, in its own JVM, at the lowest
# CPU priority, until RUNS inputs or MAX_SECONDS, whichever comes first. The corpus each target builds is kept under
# target/fuzz-corpus/ (it starts from the seeds and reproducers under src/test/resources), findings under
# target/fuzz-findings/; the libFuzzer log of each target goes to target/fuzz-logs/, and a summary line per target
# (inputs, exec/s, coverage edges "cov", features "ft", findings) to target/fuzz-logs/summary.txt.
#
#   bash ci/fuzz-long.sh [RUNS [MAX_SECONDS [TARGET...]]]     e.g. bash ci/fuzz-long.sh 1000000 900
#
# A TARGET is module:fully.qualified.Class#method; by default every target of the list below. Build first:
#   mvn -o -q test-compile
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
MAX_SECONDS=${2:-1200}
shift 2 2>/dev/null || shift $#
ALL=(
  vmm-api:dev.mesovirt.vmm.virtio.VirtqueueFuzzTarget#popChains
  vmm-api:dev.mesovirt.vmm.virtio.RngDeviceFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.virtio.BlockDeviceFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.virtio.ConsoleDeviceFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.virtio.NetDeviceFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.virtio.VirtioPciFunctionFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.qmp.QmpFramingFuzzTarget#framing
  vmm-api:dev.mesovirt.vmm.qmp.QmpArgumentsFuzzTarget#arguments
  vmm-api:dev.mesovirt.vmm.pci.PciConfigFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.vhost.user.VhostUserCodecFuzzTarget#replies
  vmm-api:dev.mesovirt.vmm.vhost.user.VhostUserFrontendFuzzTarget#replies
  vmm-api:dev.mesovirt.vmm.snapshot.SnapshotFormatFuzzTarget#decode
  vmm-api:dev.mesovirt.vmm.firmware.FwCfgFuzzTarget#guest
  vmm-api:dev.mesovirt.vmm.firmware.CfiFlashFuzzTarget#guest
  fdt:dev.mesovirt.fdt.FdtParserFuzzTarget#parse
  arch-x86_64:dev.mesovirt.arch.x86_64.boot.BzImageFuzzTarget#parse
  arch-aarch64:dev.mesovirt.arch.aarch64.ArmImageHeaderFuzzTarget#parse
  arch-riscv64:dev.mesovirt.arch.riscv64.RiscvImageHeaderFuzzTarget#parse
  cli:dev.mesovirt.cli.CommandLineFuzzTarget#parse
)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")
LOGS=target/fuzz-logs
mkdir -p "$LOGS"
for t in "${TARGETS[@]}"; do
  module=${t%%:*}; rest=${t#*:}; class=${rest%#*}; method=${rest#*#}; simple=${class##*.}
  if [ ! -f "$module/target/test-classpath.txt" ]; then
    echo "$module: not built (mvn -o -q test-compile)" >&2; exit 1
  fi
  if [ ! -f "$module/target/test-classes/${class//.//}.class" ]; then
    echo "$t: no such class (skipped)"; continue
  fi
  cp="$PWD/$module/target/test-classes:$PWD/$module/target/classes:$(cat "$module/target/test-classpath.txt")"
  corpus=$PWD/target/fuzz-corpus/$simple; findings=$PWD/target/fuzz-findings/$simple/
  inputs="$module/src/test/resources/$(dirname "${class//.//}")/${simple}Inputs/$method"
  mkdir -p "$corpus" "$findings"
  mkdir -p "$inputs" # Jazzer adds it to the corpus by itself (seeds and reproducers), and wants it to exist
  log=$LOGS/$simple.log
  echo "== $simple#$method: up to $RUNS inputs or ${MAX_SECONDS}s"
  ( exec nice -n 19 "${JAVA_HOME:-/usr}/bin/java" -XX:+EnableDynamicAgentLoading \
      --enable-native-access=ALL-UNNAMED -cp "$cp" com.code_intelligence.jazzer.Jazzer \
      --target_class="$class" --target_method="$method" -runs="$RUNS" -max_total_time="$MAX_SECONDS" \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$findings" "$corpus" "$PWD/$inputs" ) >"$log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  [ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}')
  cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | awk '{print $2}')
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  found=$(find "$findings" -type f | wc -l)
  line="$simple#$method runs=${runs:-?} seconds=${secs:-?} exec/s=${eps:-?} cov=${cov:-?} ft=${ft:-?} findings=$found rc=$rc"
  echo "$line" | tee -a "$LOGS/summary.txt"
done
