#!/bin/bash
# Exit-path benchmark inside the emulated x86_64 KVM host (not a test), on any machine: jmh/run.sh's "exit" part —
# JMH's ExitPathBenchmark (ns per port-I/O / MMIO exit round trip through Mesovirt's vCPU loop) between two runs of its
# C reference jmh/bench/exit-loop.sh (raw ioctls) — on the nested /dev/kvm (kvm_amd on QEMU TCG's SVM) instead of this
# machine's own. Results: jmh/target/bench/jmh-exit-emulated-x86_64.json, exit-loop-emulated-x86_64.jsonl and a note,
# which ResultsTable shows as rows of their own, "(emulated x86_64 KVM host)", next to any native ones; then the table
# (docs/benchmarks.md) is made again from every result file.
#
# usage: ci/bench/exit-emulated.sh [--quick]     (needs mvn -B package: jmh/target/benchmarks.jar; about 5 minutes)
# Counts as jmh/run.sh's (JMH_ARGS, EXITS: 20000 per C sample there, EXIT_REPEATS). The figures come from software
# emulation (TCG) running a nested KVM: compare the ratios, not the absolute values.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MESOVIRT_KVM=emulated exec bash "$ROOT/jmh/run.sh" --no-build --only exit "$@"
