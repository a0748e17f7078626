#!/usr/bin/env bash
# Brings the whole local stack up: tools (cached), processes, bootstrap. Safe to re-run.
set -euo pipefail
"$(dirname "$0")/ensure-tools.sh"
"$(dirname "$0")/start.sh"
"$(dirname "$0")/bootstrap.sh"
