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
echo "test: unit + integration" >&2
node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-reporter=spec \
  test/unit/*.test.ts test/integration/*.test.ts
