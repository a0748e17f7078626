#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager (the stack), kubelet and kube-scheduler (the real node of
# test/node), and kubectl (the `kubectl kes` plugin test), from the Go module k8s.io/kubernetes: one module
# graph, one build.
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@vX` is refused: k/k's go.mod requires every staging
# module at v0.0.0 and maps it with a local `replace`. A throw-away wrapper module that requires
# k8s.io/kubernetes and replaces each staging module with its published v0.MINOR.PATCH tag builds the real
# binaries. The staging list is derived from k/k's own go.mod, never written by hand.
#
# usage: build-kube-apiserver.sh <version> <output dir>
set -euo pipefail
version=$1
out=$2
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0 GOFLAGS=-mod=mod

staging_version="v0.${version#v1.}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

gomod=$(go mod download -json "k8s.io/kubernetes@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
staging_modules=$(go mod edit -json "$gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("./staging/"):
        print(r["Old"]["Path"])')
echo "staging modules of $version: $(echo "$staging_modules" | wc -l) (replaced with $staging_version)"

go mod init es-stack/kube-build >/dev/null 2>&1
go mod edit -require="k8s.io/kubernetes@$version"
for module in $staging_modules; do
  go mod edit -replace="$module=$module@$staging_version"
done
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
go mod tidy

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$version" | cut -d. -f2)"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$out"
go build -v -trimpath -ldflags "$ldflags" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl
cp go.mod go.sum "$out/"
"$out/kube-apiserver" --version
"$out/kubelet" --version
"$out/kubectl" version --client
