#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, type-checks, lints, then runs unit and
# integration tests (integration tests start real etcd members and sshd processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: single executable (dist/plasmactl)" >&2
node scripts/build-exe.mjs
echo "test: typecheck" >&2
npx tsc -p tsconfig.check.json
echo "test: lint" >&2
npx eslint .
echo "test: format (prettier --check)" >&2
npm run -s format:check
echo "test: unit + integration (integration tests run dist/plasmactl; files that spawn bin/run.js test the npm path)" >&2
# The single executable is what a bastion runs, and it starts faster than `node bin/run.js`, which
# keeps the suite's hundreds of CLI calls cheap. Files run longest first (test/durations.json),
# three at a time: lab-backed files mostly wait on etcd, sshd and QEMU (on 2 cores the suite used
# 1.2 cores on average at 3 files at once).
PLASMACTL_BIN="${PLASMACTL_BIN-dist/plasmactl}" node --import tsx scripts/run-tests.mjs \
  --concurrency "${TEST_CONCURRENCY:-3}" test/unit/*.test.ts test/integration/*.test.ts
