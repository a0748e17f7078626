# Shared settings of the real-node test (test/node): sourced by its scripts after test/stack/lib.sh.
# shellcheck shell=bash
NODE_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../stack/lib.sh
source "$NODE_SCRIPTS/../stack/lib.sh"

# Built once and kept between runs: the Debian root filesystem, the base image and the pause image, and the
# buildah store whose layer cache makes a rebuild of an unchanged app image cheap.
ES_NODE_IMAGE_CACHE=${ES_NODE_IMAGE_CACHE:-$HOME/.cache/es-node-images}
# The state of one run (per checkout): containerd's root, the kubelet's, logs, image archives.
NODE_DIR=${NODE_DIR:-$PROJECT_ROOT/.node}
# The node's address, on the loopback device of the test's own network namespace (TEST-NET-1, never routed).
NODE_IP=${NODE_IP:-192.0.2.10}
# Pod addresses: a CNI bridge inside that namespace; the pods reach the node's servers through its gateway.
POD_SUBNET=${POD_SUBNET:-10.88.0.0/24}
POD_GATEWAY=${POD_GATEWAY:-10.88.0.1}
NODE_NAME=${NODE_NAME:-es-node}
# cgroup v1 parent of everything the kubelet runs, under each controller; removed after the run.
NODE_CGROUP_ROOT=${NODE_CGROUP_ROOT:-/es-node-test}

APP_IMAGE=${APP_IMAGE:-localhost/kubernetes-external-secrets-ts:node-test}
BASE_IMAGE=docker.io/library/node:24-bookworm-slim
PAUSE_IMAGE=registry.k8s.io/pause:3.10

# buildah with the test's own store: nothing touches the machine's /var/lib/containers.
buildah_() {
  buildah --root "$ES_NODE_IMAGE_CACHE/buildah" --runroot "$NODE_DIR/buildah-run" --storage-driver overlay "$@"
}
