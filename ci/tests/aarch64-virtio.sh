#!/bin/bash
# Smoke test of Mesovirt's virtio-mmio devices on arm64 (device-tree discovery, edge-triggered SPIs with a plain
# irqfd): one boot of Debian's arm64 kernel in the emulated arm64 KVM host with a read-write disk, a read-only disk
# and an entropy device (a pattern written by the guest and found in the image). ci/tests/x86_64-virtio.sh is the
# full device set. The harness: ci/tests/lib.sh.
#
# usage: ci/tests/aarch64-virtio.sh      Ends with "N passed, M failed".
set -uo pipefail
CASE_TIMEOUT=600
. "$(dirname "$0")/lib.sh"
tests_enter aarch64 "aarch64 virtio tests" "$TESTS_DIR/aarch64-virtio.sh" "$@"

case_blk_rng() {
  begin arm64-virtio; local log=$WORK/$CASE.log
  dt_virtio_case "$log" MESOVIRT-ARM64-PATTERN ''
  finish "$log"
}

run_cases "aarch64 virtio tests" "blk_rng" "$@"
