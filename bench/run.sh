#!/usr/bin/env bash
# Runs the benchmarks on a fresh 3-node lab in a temp directory, then removes it.
# Usage: bash bench/run.sh [health|snapshot|runbook|linearizability|all]   (SIZE_MB=512 RUNS=5 for the snapshot benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ -d dist ] || npm run -s build
base=$(mktemp -d /tmp/plasmactl-bench-XXXXXX)
chmod 755 "$base"
export PLASMACTL_CONFIG=$base/config.yaml PLASMACTL_STATE_DIR=$base/state
trap './bin/run.js lab down --dir "$base/lab" --purge >/dev/null 2>&1 || true; rm -rf "$base"' EXIT
# A loopback /24 nobody listens on (a lab left behind by a killed run would collide).
for _ in $(seq 50); do prefix="127.99.$((RANDOM % 250))"; ss -ltn | grep -q " $prefix\." || break; done
./bin/run.js lab up --dir "$base/lab" --address-prefix "$prefix" --nodes 3 >/dev/null
if [ "$what" = health ] || [ "$what" = all ]; then node bench/health.mjs; fi
if [ "$what" = snapshot ] || [ "$what" = all ]; then node bench/snapshot.mjs; fi
if [ "$what" = runbook ] || [ "$what" = all ]; then node bench/runbook.mjs; fi
if [ "$what" = linearizability ] || [ "$what" = all ]; then node bench/linearizability.mjs; fi
