#!/usr/bin/env bash
# Generates static protobuf codecs for the etcd v3 API (ChainFire's wire API) from proto/.
# Static code loads far faster than parsing .proto files at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/adapters/chainfire/gen
mkdir -p "$out"
npx pbjs -t static-module -w es6 --keep-case --no-create --no-verify --no-convert --no-delimited --no-comments \
  -o "$out/etcd.js" proto/rpc.proto
sed -i 's#import \* as \$protobuf from "protobufjs/minimal";#import $protobuf from "protobufjs/minimal.js";#' "$out/etcd.js"
cat > "$out/etcd.d.ts" <<'DTS'
/* Generated codecs are typed at the call sites in ../codec.ts. */
export const etcdserverpb: any
export const mvccpb: any
DTS
