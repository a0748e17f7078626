#!/usr/bin/env bash
# KES's development flow, step two: `npm run local` runs the controller in watch mode with KES's LOCALSTACK
# switch on and dummy AWS credentials, as KES's script did. While `npm run localstack` runs, against its
# stack (kubeconfig, moto, OpenBao and the controller's ServiceAccount token for Vault); otherwise against
# the current KUBECONFIG and an AWS emulator on localhost:4566. Other variables already set win.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ensure_node_modules
source test/stack/lib.sh
if [[ -f $STACK_DIR/stack.env && -f $STACK_DIR/kube-apiserver.pid ]] &&
  kill -0 "$(cat "$STACK_DIR/kube-apiserver.pid")" 2>/dev/null; then
  source "$STACK_DIR/stack.env"
  export LOCALSTACK_SM_URL=${LOCALSTACK_SM_URL:-$MOTO_ENDPOINT}
  export LOCALSTACK_SSM_URL=${LOCALSTACK_SSM_URL:-$MOTO_ENDPOINT}
  export LOCALSTACK_STS_URL=${LOCALSTACK_STS_URL:-$MOTO_ENDPOINT}
  export SERVICE_ACCOUNT_TOKEN_PATH=${SERVICE_ACCOUNT_TOKEN_PATH:-$ES_VAULT_TOKEN_PATH}
  export DEFAULT_VAULT_MOUNT_POINT=${DEFAULT_VAULT_MOUNT_POINT:-kubernetes}
  export DEFAULT_VAULT_ROLE=${DEFAULT_VAULT_ROLE:-es-controller}
  stage "against the local stack ($STACK_DIR): API server in $KUBECONFIG, AWS at $MOTO_ENDPOINT, Vault at $VAULT_ADDR"
else
  stage "no local stack running (npm run localstack): the current KUBECONFIG, AWS at localhost:4566"
fi
export LOCALSTACK=${LOCALSTACK:-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-foobar}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-foobar}
export AWS_EC2_METADATA_DISABLED=${AWS_EC2_METADATA_DISABLED:-true}
exec nest start --watch
