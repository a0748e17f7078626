#!/usr/bin/env bash
# Installs the node's pieces from Debian when missing: containerd and runc (the runtime), the CNI plugins (pod
# networking), buildah and mmdebstrap (the image build without a daemon), uidmap (buildah needs it), iptables
# (the kubelet's checks), util-linux's unshare and iproute2 (the network namespace). Runs before the network
# namespace is entered: the package mirror is outside it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
packages=(containerd runc containernetworking-plugins buildah mmdebstrap uidmap iptables iproute2 util-linux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0
((EUID == 0)) || die "the real-node test needs root (network namespace, containerd, kubelet)"
log "installing from Debian: ${missing[*]}"
started=$SECONDS
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
log "installed in $((SECONDS - started))s"
