#!/bin/bash
# The whole test suite: unit, layout, property and native-KVM tests (mvn -B verify, which also builds the
# distribution), then the real-Linux guest tests inside the emulated x86_64 KVM host (ci/tests/x86_64.sh).
# Exit status 0 only if everything passed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash ci/install-deps.sh
. ci/env.sh
mvn -B -ntp verify
bash ci/tests/x86_64.sh
