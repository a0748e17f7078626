#!/usr/bin/env bash
# Runs every test: formatting and lint, type check, build, unit tests, then the e2e tests against the real
# local stack (kube-apiserver, etcd, moto, OpenBao), which it brings up and stops again.
# KEEP_STACK=1 leaves a stack that this run started running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
stage "node $(node --version): lint and format"
npm run --silent lint
stage "type check"
npm run --silent typecheck
stage "build"
npm run --silent build
stage "unit tests"
npx vitest run --project unit

trap stack_down_if_started_here EXIT
stage "local stack (first run builds its tools: several minutes)"
stack_up
stage "e2e tests against the local stack"
npx vitest run --project e2e
stage "done"
