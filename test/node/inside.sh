#!/usr/bin/env bash
# Runs inside the namespaces that run.sh creates (network, mount, PID): brings up the stack, containerd and a
# kubelet on one node address, then runs the given command (the node tests). When this script exits, the PID
# namespace ends and the kernel stops every process it started, Pods included; the mounts (overlay snapshots,
# network namespaces of the Pods) were private to it and go with it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The network: loopback up, the node's address on it. Nothing here routes anywhere else, so no process of the
# node (not the SDK's metadata lookup either) can reach an address outside this namespace.
ip link set lo up
ip addr add "$NODE_IP/32" dev lo
# Private mounts: containerd's and the CNI plugins' runtime files (shim sockets, Pod network namespaces) land
# in a tmpfs that ends with this namespace, not in the machine's /run.
mount -t tmpfs tmpfs /run

# A fresh start: the state of an earlier run (and its PID files, which would name processes of another PID
# namespace) is removed; the tools.env that run.sh wrote stays.
rm -rf "$NODE_DIR/containerd" "$NODE_DIR/kubelet" "$NODE_DIR/cni" "$NODE_DIR/cni-ipam" "$NODE_DIR/pod-logs" \
  "$NODE_DIR"/*.pid "$STACK_DIR"/*.pid "$STACK_DIR/etcd-data" "$STACK_DIR/pki" "$STACK_DIR/logs"
mkdir -p "$NODE_DIR"/{containerd,kubelet,cni,cni-ipam,pod-logs,logs}

log "node: stack (API server, etcd, moto, OpenBao) on $NODE_IP"
STACK_LISTEN_ADDRESS=0.0.0.0 STACK_ADVERTISE_ADDRESS=$NODE_IP STACK_SERVICE_ACCOUNT_ADMISSION=1 \
  "$STACK_SCRIPTS/start.sh"
BOOTSTRAP_CRD=0 "$STACK_SCRIPTS/bootstrap.sh"
source "$STACK_DIR/stack.env"
source "$STACK_DIR/tools.env"
pki=$STACK_PKI

start() { # start <name> <command…>: in the background, output in $NODE_DIR/logs/<name>.log
  local name=$1; shift
  "$@" >"$NODE_DIR/logs/$name.log" 2>&1 &
  echo $! >"$NODE_DIR/$name.pid"
}
kube() { # kube <method> <path> [content type] [body]
  curl -sS --fail-with-body --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" -X "$1" \
    ${3:+-H "Content-Type: $3"} ${4:+--data-binary "$4"} "https://127.0.0.1:$KAS_PORT$2"
}

# What a Deployment needs beside the stack's garbage collector: the deployment and replicaset controllers, the
# ServiceAccount controller (each namespace's `default`), the kube-root-ca.crt publisher (the CA of the Pods'
# projected volume), and a scheduler.
start kube-controller-manager-node "$KUBE_CONTROLLER_MANAGER_BIN" --kubeconfig="$KUBECONFIG" \
  --controllers=deployment,replicaset,serviceaccount,root-ca-cert-publisher --root-ca-file="$pki/ca.crt" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false --v=1
start kube-scheduler "$KUBE_SCHEDULER_BIN" --kubeconfig="$KUBECONFIG" --authentication-kubeconfig="$KUBECONFIG" \
  --authorization-kubeconfig="$KUBECONFIG" --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1

# containerd: its own root, state and socket; the CRI plugin's sandbox image is the locally built pause image
# (nothing can be pulled) and Pods get addresses from a CNI bridge in this namespace, with one route: to the
# node's address, where every server they talk to listens.
containerd_dir=$NODE_DIR/containerd
socket=$containerd_dir/containerd.sock
cat >"$containerd_dir/config.toml" <<TOML
version = 2
root = "$containerd_dir/root"
state = "$containerd_dir/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$socket"
[ttrpc]
  address = "$socket.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$containerd_dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # sandbox: this machine refuses a lower oom_score_adj than the parent's to every process, pause included.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni"
TOML
cat >"$NODE_DIR/cni/10-es-node.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "es-node", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$NODE_DIR/cni-ipam",
            "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$POD_GATEWAY"}]],
            "routes": [{"dst": "$NODE_IP/32"}]}}]}
JSON
start containerd containerd --config "$containerd_dir/config.toml"
wait_for containerd 30 ctr -a "$socket" version
for archive in "$NODE_DIR"/images/*.tar; do
  ctr -a "$socket" -n k8s.io images import --no-unpack=false "$archive" >/dev/null
done
log "node: images imported: $(ctr -a "$socket" -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

# The kubelet: cgroup v1 here (failCgroupV1: false), cgroupfs under a root of the test's own, no swap check,
# image GC never (the images cannot be pulled again), no eviction thresholds, webhook auth off (test node).
cat >"$NODE_DIR/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $NODE_CGROUP_ROOT
containerRuntimeEndpoint: unix://$socket
failSwapOn: false
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
oomScoreAdj: 0
resolvConf: ""
podLogsDir: $NODE_DIR/pod-logs
serializeImagePulls: false
YAML
# The kubelet wants its cgroup root to exist in every controller; cpuset's needs its CPUs and memory nodes (a new
# cgroup v1 cpuset has none, and no process could join it).
for controller in /sys/fs/cgroup/*/; do
  [[ -e ${controller}cgroup.procs ]] || continue
  mkdir -p "$controller${NODE_CGROUP_ROOT#/}"
done
for file in cpuset.cpus cpuset.mems; do
  cat "/sys/fs/cgroup/cpuset/$file" >"/sys/fs/cgroup/cpuset/${NODE_CGROUP_ROOT#/}/$file"
done
start kubelet "$KUBELET_BIN" --config="$NODE_DIR/kubelet/config.yaml" --kubeconfig="$KUBECONFIG" \
  --root-dir="$NODE_DIR/kubelet/root" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
node_ready() {
  kube GET "/api/v1/nodes/$NODE_NAME" | python3 -c '
import json, sys
node = json.load(sys.stdin)
sys.exit(not any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", [])))'
}
deadline=$((SECONDS + 120))
until node_ready 2>/dev/null; do
  if ! kill -0 "$(cat "$NODE_DIR/kubelet.pid")" 2>/dev/null; then
    grep -E '^[EF][0-9]{4}' "$NODE_DIR/logs/kubelet.log" | tail -5 >&2
    die "the kubelet exited (log: $NODE_DIR/logs/kubelet.log)"
  fi
  ((SECONDS < deadline)) || die "node $NODE_NAME not Ready after 120s (log: $NODE_DIR/logs/kubelet.log)"
  sleep 0.5
done
# No node-lifecycle controller runs, so nothing lifts the not-ready taint the kubelet registered with.
kube PATCH "/api/v1/nodes/$NODE_NAME" application/merge-patch+json '{"spec":{"taints":null}}' >/dev/null
log "node: $NODE_NAME Ready ($NODE_IP, kubelet $("$KUBELET_BIN" --version | cut -d' ' -f2), containerd $(containerd --version | cut -d' ' -f3))"

export NODE_DIR NODE_IP NODE_NAME NODE_CGROUP_ROOT APP_IMAGE CONTAINERD_SOCKET=$socket
"$@"
