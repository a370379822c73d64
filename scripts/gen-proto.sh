#!/usr/bin/env bash
# Generates static protobuf codecs for the etcd v3 API (ChainFire's wire API) from proto/.
# Static code loads far faster than parsing .proto files at run time. CommonJS, so codec.ts can
# load it synchronously on first use (the messages of a health check are encoded by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/adapters/chainfire/gen
mkdir -p "$out"
rm -f "$out/etcd.js" "$out/etcd.d.ts"
npx pbjs -t static-module -w commonjs --keep-case --no-create --no-verify --no-convert --no-delimited --no-comments \
  -o "$out/etcd.cjs" proto/rpc.proto
