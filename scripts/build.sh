#!/usr/bin/env bash
# Build: protobuf codecs, TypeScript, JSON Schema for the config, oclif manifest (fast --help), help texts (faster --help: bin/fast-path.js).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f src/adapters/chainfire/gen/etcd.cjs ] || bash scripts/gen-proto.sh
rm -rf dist
npx tsc -p tsconfig.json
mkdir -p dist/adapters/chainfire/gen
cp src/adapters/chainfire/gen/etcd.cjs dist/adapters/chainfire/gen/etcd.cjs
if [ -f scripts/gen-schema.js ]; then node scripts/gen-schema.js; fi
npx oclif manifest >/dev/null
node scripts/render-help.mjs
