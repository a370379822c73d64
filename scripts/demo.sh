#!/usr/bin/env bash
# Quick start: install what is missing, start a real 3-node lab on this machine, check its health.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
./bin/run.js lab up --nodes "${NODES:-3}"
./bin/run.js health
