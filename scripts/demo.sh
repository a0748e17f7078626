#!/usr/bin/env bash
# The demo: brings up the local stack, applies the example ExternalSecrets, runs the built controller against
# them, shows its probes and what it made, then stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
npm run build >/dev/null

controller_pid=
cleanup() {
  [[ -n $controller_pid ]] && kill -TERM "$controller_pid" 2>/dev/null && wait "$controller_pid" || true
  stack_down_if_started_here
}
trap cleanup EXIT
stack_up

node scripts/demo.mjs
