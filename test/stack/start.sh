#!/usr/bin/env bash
# Starts etcd, kube-apiserver, kube-controller-manager (for garbage collection), moto and an OpenBao dev
# server on 127.0.0.1, waits until each is ready, and writes $STACK_DIR/kubeconfig and $STACK_DIR/stack.env.
# A component that is already running (its recorded PID is alive) is left alone, so re-runs are cheap.
# The real-node test (test/node) starts the same stack inside a network namespace of its own, where Pods must
# reach it: STACK_LISTEN_ADDRESS=0.0.0.0 (the API server, moto, OpenBao), STACK_ADVERTISE_ADDRESS=<node IP>
# and STACK_SERVICE_ACCOUNT_ADMISSION=1 (Pods get their projected token, as in a cluster).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -f $STACK_DIR/tools.env ]] || die "run ensure-tools.sh first"
source "$STACK_DIR/tools.env"
"$STACK_SCRIPTS/pki.sh"
pki=$STACK_DIR/pki
mkdir -p "$STACK_DIR/logs"
listen=${STACK_LISTEN_ADDRESS:-127.0.0.1}
advertise=${STACK_ADVERTISE_ADDRESS:-127.0.0.1}
admission=(--disable-admission-plugins=ServiceAccount)
[[ ${STACK_SERVICE_ACCOUNT_ADMISSION:-0} == 1 ]] && admission=()

running() { [[ -f $STACK_DIR/$1.pid ]] && kill -0 "$(cat "$STACK_DIR/$1.pid")" 2>/dev/null; }

# start <name> <command…>: runs the command in the background, its output in logs/<name>.log.
start() {
  local name=$1; shift
  if running "$name"; then return 0; fi
  "$@" >"$STACK_DIR/logs/$name.log" 2>&1 &
  echo $! >"$STACK_DIR/$name.pid"
}

admin_curl() {
  curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$KAS_PORT$1"
}

cat >"$STACK_DIR/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: es-test
    cluster:
      server: https://127.0.0.1:$KAS_PORT
      certificate-authority: $pki/ca.crt
users:
  - name: es-test-admin
    user:
      client-certificate: $pki/admin.crt
      client-key: $pki/admin.key
contexts:
  - name: es-test
    context:
      cluster: es-test
      user: es-test-admin
current-context: es-test
YAML

no_fsync=()
"$ETCD_BIN" --help 2>&1 | grep -q -- --unsafe-no-fsync && no_fsync=(--unsafe-no-fsync)
start etcd "$ETCD_BIN" --name es-test --data-dir "$STACK_DIR/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "es-test=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn "${no_fsync[@]}"

start moto "$MOTO_SERVER_BIN" -H "$listen" -p "$MOTO_PORT"
# Every OpenBao request is audited to a file (declarative: OpenBao refuses enabling audit devices by API), so
# tests can count logins and reads at the backend itself.
cat >"$STACK_DIR/bao.hcl" <<HCL
audit "file" "file" {
  options {
    file_path = "$STACK_DIR/logs/bao-audit.log"
  }
}
HCL
start bao "$BAO_BIN" server -dev -dev-root-token-id=root -dev-listen-address="$listen:$BAO_PORT" -dev-no-store-token \
  -config="$STACK_DIR/bao.hcl"

# The API server audits the controller's resources (metadata only, never bodies), so the benchmark and tests can
# tell the controller's requests (by User-Agent) from the garbage collector's and the tests' own.
cat >"$STACK_DIR/kas-audit-policy.yaml" <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: [secrets, namespaces, events]
      - group: kubernetes-client.io
        resources: [externalsecrets, externalsecrets/status]
  - level: None
YAML

wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
start kube-apiserver "$KUBE_APISERVER_BIN" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address="$listen" --secure-port="$KAS_PORT" \
  --advertise-address="$advertise" --endpoint-reconciler-type=none \
  --cert-dir="$STACK_DIR/kas-certs" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --authorization-mode=RBAC \
  "${admission[@]}" \
  --audit-policy-file="$STACK_DIR/kas-audit-policy.yaml" --audit-log-path="$STACK_DIR/logs/kas-audit.log" \
  --audit-log-maxsize=500 --audit-log-maxbackup=1 \
  --profiling=false --v=1
wait_for kube-apiserver 120 admin_curl /readyz
wait_for "namespace default" 30 admin_curl /api/v1/namespaces/default
wait_for "namespace kube-system" 30 admin_curl /api/v1/namespaces/kube-system

# Only the garbage collector: owner-reference cleanup of Secrets is real in tests.
start kube-controller-manager "$KUBE_CONTROLLER_MANAGER_BIN" \
  --kubeconfig="$STACK_DIR/kubeconfig" --controllers=garbagecollector,namespace \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false --v=1

wait_for moto 60 curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/"
wait_for bao 30 curl -sf "http://127.0.0.1:$BAO_PORT/v1/sys/health"

cat >"$STACK_DIR/stack.env" <<ENV
export KUBECONFIG=$STACK_DIR/kubeconfig
export STACK_DIR=$STACK_DIR
export STACK_PKI=$pki
export HELM_BIN=$HELM_BIN
export KUBECTL_BIN=$KUBECTL_BIN
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
export MOTO_ENDPOINT=http://127.0.0.1:$MOTO_PORT
export VAULT_ADDR=http://127.0.0.1:$BAO_PORT
export BAO_ROOT_TOKEN=root
export ES_VAULT_TOKEN_PATH=$STACK_DIR/controller-sa.token
export BAO_AUDIT_LOG=$STACK_DIR/logs/bao-audit.log
export KAS_AUDIT_LOG=$STACK_DIR/logs/kas-audit.log
ENV
log "stack up: API server https://127.0.0.1:$KAS_PORT, moto :$MOTO_PORT, OpenBao :$BAO_PORT ($STACK_DIR/stack.env)"
