#!/bin/bash
# The whole test suite: unit, layout, property and native-KVM tests (mvn -B verify, which also builds the
# distribution), then the real-Linux guest tests inside the emulated x86_64 and arm64 KVM hosts (ci/tests/x86_64.sh,
# ci/tests/aarch64-boot.sh).
# Exit status 0 only if everything passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash ci/install-deps.sh
. ci/env.sh
mvn -B -ntp verify
# Both emulated-host jobs run even if the first fails, so one run shows every failure.
rc=0
bash ci/tests/x86_64.sh || rc=1
bash ci/tests/aarch64-boot.sh || rc=1
exit $rc
