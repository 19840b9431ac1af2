#!/bin/bash
# The jobs that need a working /dev/kvm but not one that boots Linux, run where there is one: on this machine's
# /dev/kvm when it is usable (kvm_pvm runs them too), else all together inside one emulated x86_64 KVM host
# (ci/emulated-host.sh, a real nested /dev/kvm), with the same results on this machine afterwards. MESOVIRT_KVM=
# native|emulated|auto forces the place (ci/kvm.sh).
#
# usage: ci/kvm-jobs.sh JOB...        in the order given:
#   train  the dist's class-data archive (bin/mesovirt --train): cli/target/dist/lib/mesovirt.aot (.jsa before JDK 24)
#   unit   every test class tagged "kvm" (@RequiresKvm) in every module, with JUnit's console launcher in one JVM,
#          CI=true (a test that cannot reach KVM fails); reports as surefire's, in the surefire-reports of the module
#          each class belongs to (TEST-<class>.xml), and a "Tests run: ..." line per class. Needs `mvn verify` first.
#   qmp    ci/tests/qmp-native.sh: Mesovirt's QMP against QEMU's, and its hot-plug/fd/quit behaviour
# Every job runs even if an earlier one failed; exit status 0 only if all passed. In the emulated host the results
# are written to its read-write share (target/kvm-jobs/) and moved into place here when it has finished.
{
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
. ci/env.sh || exit 2
. ci/kvm.sh
[ $# -gt 0 ] || { sed -n '2,/^{$/p' "$0" | sed '$d' >&2; exit 2; }
for j in "$@"; do
  case $j in train|unit|qmp) ;; *) echo "kvm-jobs: unknown job '$j' (train, unit, qmp)" >&2; exit 2 ;; esac
done
mv_kvm_probe || exit 2
RESULTS=$ROOT/target/kvm-jobs
MODULES=(fdt vmm-api arch-x86_64 arch-aarch64 arch-riscv64 machine-microvm machine-standard cli jmh)

# ---- on this machine, going to the emulated host: prepare, run this script there, collect -----------------------
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ] && [ "$MV_KVM_TINY" = emulated ]; then
  echo "kvm-jobs: $* $(mv_kvm_where emulated)"
  [[ " $* " == *" qmp "* ]] && { bash ci/guest-image.sh x86_64 >/dev/null || exit 2; }
  rm -rf "$RESULTS" && mkdir -p "$RESULTS" || exit 2
  start=$SECONDS
  MESOVIRT_HOST_OUT=$RESULTS MESOVIRT_HOST_TIMEOUT=${MESOVIRT_HOST_TIMEOUT:-1200} \
    bash ci/emulated-host.sh x86_64 "$ROOT/ci/kvm-jobs.sh" "$@"
  rc=$?
  echo "kvm-jobs: the emulated host took $((SECONDS - start)) s (exit $rc)"
  [ "$rc" = 125 ] && exit 125 # the host died: the caller may run it again; nothing is collected
fi

collect() { # the results from $RESULTS into place (same for both places, so that both are reported alike)
  local m a
  if [ -f "$RESULTS/train/archive" ]; then
    a=$(cat "$RESULTS/train/archive")
    mv -f "$RESULTS/train/$a" "cli/target/dist/lib/$a" && echo "kvm-jobs: train: cli/target/dist/lib/$a ($(du -k "cli/target/dist/lib/$a" | cut -f1) KiB)"
  fi
  if [ -f "$RESULTS/unit/TEST-junit-jupiter.xml" ]; then
    # Each class's report into the surefire-reports of the module whose test classes hold it.
    python3 ci/junit-report.py split "$RESULTS/unit/TEST-junit-jupiter.xml" "$RESULTS/unit/classes" "${MODULES[@]}" >/dev/null
    echo "kvm-jobs: unit: KVM test classes ($(cat "$RESULTS/unit/where" 2>/dev/null)):"
    python3 ci/junit-report.py classes --none-skipped "$RESULTS/unit/classes" || echo "kvm-jobs: unit: FAILED"
  fi
}

if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ] && [ "$MV_KVM_TINY" = emulated ]; then
  collect
  exit "$rc"
fi

# ---- the jobs, on a usable /dev/kvm (this machine's, or the emulated host's) -------------------------------------
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" = 1 ]; then
  WHERE="in the emulated x86_64 KVM host, Linux $(uname -r)"
else
  WHERE="on this machine's /dev/kvm: $MV_KVM_FOUND"
  echo "kvm-jobs: $* $(mv_kvm_where native)"
  rm -rf "$RESULTS" && mkdir -p "$RESULTS" || exit 2
fi

job_train() {
  local kind=cds out=mesovirt.jsa
  # As the launcher chooses (it runs JAVA_HOME's JDK): the AOT cache on JDK 24+, a dynamic CDS archive before.
  [ "$(jdk_version "$JAVA_HOME")" -ge 24 ] && kind=aot out=mesovirt.aot
  mkdir -p "$RESULTS/train"
  # The launcher picks JAVA_HOME as the other runs will; the archive is assembled here and moved into lib/ after.
  MESOVIRT_TRAIN_OUTPUT=$RESULTS/train/$out cli/target/dist/bin/mesovirt --train "$kind" || return 1
  echo "$out" > "$RESULTS/train/archive"
}

job_unit() {
  local launcher=$ROOT/target/junit/junit-platform-console-standalone.jar m rc=0 roots=() entries=()
  [ -f "$launcher" ] || { echo "kvm-jobs: unit: no $launcher: run mvn verify (or test-compile) first" >&2; return 1; }
  for m in "${MODULES[@]}"; do
    # Only modules whose tests use the tag (the annotation's name is in their class files, other than its own).
    [ -d "$m/target/test-classes" ] && grep -rlF 'dev/mesovirt/vmm/kvm/RequiresKvm' "$m/target/test-classes" \
      | grep -qv '/RequiresKvm\.class$' || continue
    [ -f "$m/target/test-classpath.txt" ] || { echo "kvm-jobs: unit: no $m/target/test-classpath.txt: run mvn verify first" >&2; return 1; }
    roots+=("$ROOT/$m/target/test-classes")
    entries+=("$ROOT/$m/target/test-classes" "$ROOT/$m/target/classes")
    mapfile -t -O "${#entries[@]}" entries < <(tr ':' '\n' < "$m/target/test-classpath.txt")
  done
  [ ${#roots[@]} -gt 0 ] || { echo "kvm-jobs: unit: no module has @RequiresKvm test classes (build first?)" >&2; return 1; }
  # One JVM for every module (a JVM start is seconds under emulation): the modules' class paths in one, without
  # JUnit's own jars (the standalone launcher brings the same engine), each entry once.
  local cp
  cp=$(printf '%s\n' "${entries[@]}" | grep -v -E '/org/(junit|opentest4j|apiguardian)/' | awk 'NF && !seen[$0]++' | paste -sd:)
  echo "== kvm-jobs: unit: ${roots[*]#"$ROOT/"}"
  mkdir -p "$RESULTS/unit"
  # CI=true: a test that cannot reach KVM fails, never skips. A test gets 180 s (these take seconds even under
  # emulation); should the JVM hang anyway, it prints its threads (SIGQUIT) before it is killed.
  CI=true timeout -s QUIT -k 20 900 "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$launcher" execute \
    --config=junit.jupiter.execution.timeout.default=180s \
    --disable-banner --disable-ansi-colors --details=verbose --include-engine=junit-jupiter --include-tag=kvm \
    --fail-if-no-tests --class-path="$cp" --scan-class-path="$(IFS=:; echo "${roots[*]}")" \
    --reports-dir="$RESULTS/unit" || rc=1
  echo "$WHERE" > "$RESULTS/unit/where"
  return $rc
}

job_qmp() {
  bash ci/tests/qmp-native.sh
}

rc=0
for j in "$@"; do
  echo "== kvm-jobs: $j ($WHERE)"
  s=$SECONDS
  if "job_$j"; then
    echo "kvm-jobs: $j passed ($((SECONDS - s)) s)"
  else
    echo "kvm-jobs: $j FAILED ($((SECONDS - s)) s)"
    rc=1
  fi
done
if [ "${MESOVIRT_IN_EMULATED_HOST:-}" != 1 ]; then
  collect
fi
exit $rc
}
