#!/usr/bin/env bash
# The benchmark against the local stack (README "Performance"); options after the command go to bench/run.ts,
# e.g. ./scripts/bench.sh --count 10000 --repetitions 3. Stops a stack it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
npm run build >/dev/null
rm -rf .bench-build && npx tsc -p tsconfig.bench.json
trap stack_down_if_started_here EXIT
stack_up
node .bench-build/bench/run.js "$@"
