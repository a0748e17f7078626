#!/usr/bin/env bash
# The demo: brings up the local stack, applies the example ExternalSecrets, runs the built controller against
# them, shows the Secrets it made and a rotated value arriving, then stops everything it started.
# KEEP_STACK=1 leaves a stack that this run started running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
stage "building the controller"
npm run build >/dev/null

trap stack_down_if_started_here EXIT
stage "local stack (first run builds its tools: several minutes)"
stack_up
stage "demo"
node scripts/demo.js
stage "done"
