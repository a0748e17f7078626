# Shared settings of the local test stack; sourced by the other scripts.
# shellcheck shell=bash
STACK_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_ROOT=$(cd "$STACK_SCRIPTS/../.." && pwd)
# shellcheck source=versions.env
source "$STACK_SCRIPTS/versions.env"

export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export PATH="/usr/local/go/bin:$PATH"

# Built tools, keyed by versions (survives between runs); runtime state of one stack (per checkout).
ES_STACK_CACHE=${ES_STACK_CACHE:-$HOME/.cache/es-test-stack}
STACK_DIR=${STACK_DIR:-$PROJECT_ROOT/.stack}

ETCD_PORT=${ETCD_PORT:-23790}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-23800}
KAS_PORT=${KAS_PORT:-16443}
MOTO_PORT=${MOTO_PORT:-4566}
BAO_PORT=${BAO_PORT:-8200}

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# Waits until a command succeeds, or fails after the given number of seconds.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready after ${seconds}s"
    sleep 0.3
  done
}

# Cache folder of a tool: name, version, Go version, platform and a hash of the script that builds it.
cache_dir_for() {
  local name=$1 version=$2 script=$3
  local hash
  hash=$(sha256sum "$STACK_SCRIPTS/$script" | cut -c1-12)
  printf '%s/%s-%s-%s-%s-%s' "$ES_STACK_CACHE" "$name" "$version" "$(go env GOVERSION)" "$(go env GOOS)-$(go env GOARCH)" "$hash"
}
