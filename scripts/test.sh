#!/usr/bin/env bash
# Runs every test: formatting and lint, type check, build, unit tests, then the e2e tests against the real
# local stack (kube-apiserver, etcd, moto, OpenBao), which it brings up and stops again.
# KEEP_STACK=1 leaves a stack that this run started running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
echo "node $(node --version)"

npm run lint
npm run typecheck
npm run build
npx vitest run --project unit

trap stack_down_if_started_here EXIT
stack_up
npx vitest run --project e2e
