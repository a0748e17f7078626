#!/usr/bin/env bash
# Stops every stack process by its recorded PID (TERM, then KILL after 10 s); no pattern matching.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
for name in kube-controller-manager kube-apiserver bao moto etcd; do
  pidfile=$STACK_DIR/$name.pid
  [[ -f $pidfile ]] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done
# etcd and OpenBao dev keep their data in memory or in the stack folder; a stopped stack starts clean.
rm -rf "$STACK_DIR/etcd-data"
log "stack stopped"
