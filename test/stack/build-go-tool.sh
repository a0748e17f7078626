#!/usr/bin/env bash
# Builds a main package of a Go module whose go.mod has `replace` lines (so `go install pkg@v` refuses it):
# a throw-away module requires it, where the dependency's own replaces are ignored.
#
# usage: build-go-tool.sh <module> <version> <package> <output file> [ldflags]
set -euo pipefail
module=$1 version=$2 package=$3 output=$4 ldflags=${5:-}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 GOFLAGS=-mod=mod
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init es-stack/tool-build >/dev/null 2>&1
go mod edit -require="$module@$version"
printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" > tools.go
go mod tidy
mkdir -p "$(dirname "$output")"
go build -v -trimpath -ldflags "-s -w $ldflags" -o "$output" "$package"
