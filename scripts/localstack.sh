#!/usr/bin/env bash
# KES's development flow, step one: `npm run localstack` in a terminal of its own. KES ran LocalStack there;
# this brings up the local stack in the foreground: the AWS emulator (moto, on LocalStack's port 4566 unless
# MOTO_PORT says otherwise) and what `npm run local` needs beside it (an API server with the CRD, OpenBao).
# Ctrl-C stops what it started. Step two, in another terminal: `npm run local`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
trap stack_down_if_started_here EXIT
trap 'exit 0' INT TERM
stage "local stack (first run builds its tools: several minutes)"
stack_up
stage "ready: AWS emulator at $MOTO_ENDPOINT, API server in $KUBECONFIG, OpenBao at $VAULT_ADDR"
cat >&2 <<TEXT
Now, in another terminal: npm run local
Add values with the AWS CLI, for example:
  AWS_ACCESS_KEY_ID=foobar AWS_SECRET_ACCESS_KEY=foobar aws --region=$AWS_REGION --endpoint-url=$MOTO_ENDPOINT \\
    secretsmanager create-secret --name hello-service/password --secret-string "1234"
and ExternalSecrets with: KUBECONFIG=$KUBECONFIG kubectl apply -f <file>
Ctrl-C stops the stack.
TEXT
while true; do sleep 1; done
