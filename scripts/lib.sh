# Shared by scripts/test.sh and scripts/demo.sh.
# shellcheck shell=bash
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PROJECT_ROOT=$PWD

# npm dependencies, re-installed only when package-lock.json changed. They include the Node.js 24 binary
# (the `node` package) that every script below runs on; the machine's own Node may be older.
ensure_node_modules() {
  local stamp=node_modules/.package-lock.sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    npm ci --no-audit --no-fund
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
