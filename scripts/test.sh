#!/usr/bin/env bash
# Runs every test: formatting and lint, type check, build, unit tests, then the e2e tests against the real
# local stack (kube-apiserver, etcd, moto, OpenBao), which it brings up and stops again, then the node tests:
# the image built from the Dockerfile and the chart installed on a real node (test/node/run.sh; needs root).
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
# The node runs a stack of its own in its own network namespace; this one's CPU is better spent there.
stack_down_if_started_here
STACK_STARTED_HERE=0
stage "node tests: the image from the Dockerfile, the chart on a real node (first run builds the images)"
bash test/node/run.sh
stage "done"
