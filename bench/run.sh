#!/usr/bin/env bash
# Runs the benchmarks on a fresh 3-node lab in a temp directory, then removes it.
# Usage: bash bench/run.sh [health|snapshot|runbook|linearizability|drill|all, or a comma-separated list]   (SIZE_MB=512 ROUNDS=5 for the snapshot and runbook benchmarks)
# The health, snapshot and runbook benchmarks measure the single executable (dist/plasmactl, built if
# missing) and the npm path as a user installs it: the `npm pack` tarball, `npm install -g` into a temp prefix
# (PLASMACTL_NPM_BIN=path skips that). For a fresh build: npm run build:exe first.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
# WHAT may list several, comma-separated: health,snapshot,runbook
want() { [ "$what" = all ] || [[ ",$what," == *",$1,"* ]]; }
[ -d dist ] || npm run -s build
base=$(mktemp -d /tmp/plasmactl-bench-XXXXXX)
chmod 755 "$base"
export PLASMACTL_CONFIG=$base/config.yaml PLASMACTL_STATE_DIR=$base/state
trap './bin/run.js lab down --dir "$base/lab" --purge >/dev/null 2>&1 || true; rm -rf "$base"' EXIT
# A loopback /24 nobody listens on (a lab left behind by a killed run would collide).
for _ in $(seq 50); do prefix="127.99.$((RANDOM % 250))"; ss -ltn | grep -q " $prefix\." || break; done
./bin/run.js lab up --dir "$base/lab" --address-prefix "$prefix" --nodes 3 >/dev/null
if want health || want snapshot || want runbook; then
  [ -x dist/plasmactl ] || node scripts/build-exe.mjs
  if [ -z "${PLASMACTL_NPM_BIN:-}" ]; then
    npm pack --pack-destination "$base" --loglevel=error >/dev/null
    npm install -g --prefix "$base/npm" --prefer-offline --no-audit --no-fund --loglevel=error "$base"/plasmactl-*.tgz
    export PLASMACTL_NPM_BIN=$base/npm/bin/plasmactl
  fi
fi
# The executable writes its files to a cache dir on its first run (the warm-up round): a new user's.
export XDG_CACHE_HOME=$base/cache
bins=(--bin "$PWD/dist/plasmactl" --bin "${PLASMACTL_NPM_BIN:-}")
if want health; then node bench/health.mjs; fi
if want snapshot; then node bench/snapshot.mjs "${bins[@]}"; fi
if want runbook; then node bench/runbook.mjs "${bins[@]}"; fi
if want linearizability; then node bench/linearizability.mjs; fi
if want drill; then node bench/drill.mjs; fi
