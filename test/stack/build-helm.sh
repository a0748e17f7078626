#!/usr/bin/env bash
# Installs helm from the Go module proxy (helm's go.mod has no `replace`, so `go install` works).
# usage: build-helm.sh <version> <output dir>
set -euo pipefail
version=$1 out=$2
GOBIN="$out" GOFLAGS= CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local} go install -v -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" "helm.sh/helm/v4/cmd/helm@$version"
"$out/helm" version
