#!/usr/bin/env bash
# The real-node test: the image built from the Dockerfile, a node (containerd, runc, kubelet) registered with
# the stack's API server, and `helm install` of the chart, all inside namespaces of the test's own; then the
# node tests (vitest project `node`). Afterwards nothing is left running or mounted, and the kubelet's cgroups
# are removed.
#
# usage: run.sh [command…]   (default: npx vitest run --project node)
set -euo pipefail
export STACK_DIR=${NODE_STACK_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/.stack-node}
source "$(dirname "$0")/lib.sh"
((EUID == 0)) || die "the real-node test needs root (network namespace, containerd, kubelet)"
command=("$@")
((${#command[@]})) || command=(npx vitest run --project node)

"$NODE_SCRIPTS/ensure-packages.sh"
"$STACK_SCRIPTS/ensure-tools.sh"
"$NODE_SCRIPTS/build-images.sh"

# The kubelet's cgroups outlive its processes; once the PID namespace has ended (its processes may take a moment
# to be reaped) they are empty and can go.
remove_cgroups() {
  local controller
  for _ in $(seq 1 50); do
    for controller in /sys/fs/cgroup/*/; do
      [[ -d $controller${NODE_CGROUP_ROOT#/} ]] || continue
      find "$controller${NODE_CGROUP_ROOT#/}" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    compgen -G "/sys/fs/cgroup/*/${NODE_CGROUP_ROOT#/}" >/dev/null || return 0
    sleep 0.2
  done
  log "warning: cgroup folders of the node are still there: $(compgen -G "/sys/fs/cgroup/*/${NODE_CGROUP_ROOT#/}" | tr '\n' ' ')"
}
remove_cgroups
trap remove_cgroups EXIT
trap 'exit 143' TERM INT
status=0
# A new network namespace (only its own loopback), a private mount namespace and a PID namespace whose end stops
# every process of the node. --kill-child: if this script is killed, the namespace goes too.
unshare --net --mount --pid --fork --mount-proc --kill-child -- \
  "$NODE_SCRIPTS/inside.sh" "${command[@]}" || status=$?
# Checked, not assumed: no process of the node outlived it, and none of its mounts is visible here.
leftover_processes=$(pgrep -f -- "$NODE_DIR/" | grep -vx "$$" || true)
leftover_mounts=$(grep -F -- "$NODE_DIR/" /proc/mounts || true)
if [[ -n $leftover_processes || -n $leftover_mounts ]]; then
  log "error: the node left processes (${leftover_processes//$'\n'/ }) or mounts behind: $leftover_mounts"
  status=1
fi
exit "$status"
