#!/usr/bin/env bash
# Prepares the running stack for the controller and its tests:
#  - the ExternalSecret CRD, applied and Established;
#  - namespace es-system with ServiceAccounts `bao-token-reviewer` (bound to system:auth-delegator, so OpenBao
#    can call TokenReview) and `kubernetes-external-secrets` (the controller's identity towards Vault), and a
#    TokenRequest token of the latter in $STACK_DIR/controller-sa.token;
#  - OpenBao: Kubernetes auth at auth/kubernetes (and auth/my-kubernetes-vault-mount-point, the KES README's)
#    pointed at this API server, KV v2 at secret/ (dev mode's), KV v1 at kv1/, KV v2 at restricted/ (outside the
#    policy), policy es-read, and roles bound to the controller's SA.
# OpenBao dev keeps everything in memory, so this runs after every start; every step is idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$STACK_DIR/stack.env"
pki=$STACK_DIR/pki
kas="https://127.0.0.1:$KAS_PORT"

kube() { # kube <method> <path> [json body]
  curl -sS --fail-with-body --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X "$1" -H 'Content-Type: application/json' "$kas$2" ${3:+-d "$3"}
}
# Creates an object unless it exists (409 is fine).
kube_create() {
  local out
  out=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X POST -H 'Content-Type: application/json' "$kas$1" -d "$2")
  [[ $out == 201 || $out == 409 ]] || die "creating $1 answered HTTP $out"
}
bao() { # bao <method> <path> [json body]
  curl -sS --fail-with-body -H "X-Vault-Token: $BAO_ROOT_TOKEN" -X "$1" "$VAULT_ADDR/v1/$2" ${3:+-d "$3"}
}
json() { python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }

# The CRD, with server-side apply (which takes YAML) so that re-runs update it. The real-node test leaves it
# to `helm install` (BOOTSTRAP_CRD=0), as a user's first install would.
if [[ ${BOOTSTRAP_CRD:-1} == 1 ]]; then
  curl -sS --fail-with-body -o /dev/null --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary "@$PROJECT_ROOT/crds/externalsecrets.kubernetes-client.io.yaml" \
    "$kas/apis/apiextensions.k8s.io/v1/customresourcedefinitions/externalsecrets.kubernetes-client.io?fieldManager=es-stack&force=true"
  crd_established() {
    kube GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/externalsecrets.kubernetes-client.io |
      python3 -c 'import json,sys; c=json.load(sys.stdin)["status"].get("conditions",[]); sys.exit(not any(x["type"]=="Established" and x["status"]=="True" for x in c))'
  }
  wait_for "CRD Established" 30 crd_established
fi

kube_create /api/v1/namespaces '{"metadata":{"name":"es-system"}}'
for sa in bao-token-reviewer kubernetes-external-secrets; do
  kube_create /api/v1/namespaces/es-system/serviceaccounts "{\"metadata\":{\"name\":\"$sa\"}}"
done
kube_create /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{
  "metadata": {"name": "es-bao-token-reviewer"},
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
  "subjects": [{"kind": "ServiceAccount", "name": "bao-token-reviewer", "namespace": "es-system"}]}'

token_for() { # token_for <service account> <seconds>
  kube POST "/api/v1/namespaces/es-system/serviceaccounts/$1/token" \
    "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"expirationSeconds\":$2}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])'
}
reviewer_jwt=$(token_for bao-token-reviewer 86400)
token_for kubernetes-external-secrets 86400 >"$STACK_DIR/controller-sa.token"

# The KES README's Vault example uses auth mount my-kubernetes-vault-mount-point and role my-vault-role.
for mount in kubernetes my-kubernetes-vault-mount-point; do
  bao GET sys/auth | grep -q "\"$mount/\"" || bao POST "sys/auth/$mount" '{"type":"kubernetes"}' >/dev/null
  bao POST "auth/$mount/config" "{\"kubernetes_host\":\"$kas\",\"kubernetes_ca_cert\":$(json <"$pki/ca.crt"),
    \"token_reviewer_jwt\":\"$reviewer_jwt\",\"disable_local_ca_jwt\":true}" >/dev/null
done
bao GET sys/mounts | grep -q '"kv1/"' || bao POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}' >/dev/null
# A KV v2 mount that policy es-read does not cover (403 tests).
bao GET sys/mounts | grep -q '"restricted/"' || bao POST sys/mounts/restricted '{"type":"kv","options":{"version":"2"}}' >/dev/null
policy='path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "kv1/*" { capabilities = ["read", "list"] }'
bao PUT sys/policies/acl/es-read "{\"policy\":$(printf '%s' "$policy" | json)}" >/dev/null
role_for_controller() { # role_for_controller <mount> <role> <ttl> [max ttl]
  bao POST "auth/$1/role/$2" "{\"bound_service_account_names\":[\"kubernetes-external-secrets\"],
    \"bound_service_account_namespaces\":[\"es-system\"],\"token_policies\":[\"es-read\"],
    \"token_ttl\":\"$3\",\"token_max_ttl\":\"${4:-$3}\"}" >/dev/null
}
role_for_controller kubernetes es-controller 10m 1h
role_for_controller my-kubernetes-vault-mount-point my-vault-role 10m 1h
# Tokens that expire within seconds, for the token-expiry tests.
role_for_controller kubernetes es-short-ttl 4s 4s
# Short tokens that may be renewed for an hour, for the renewal test.
role_for_controller kubernetes es-renewable 6s 1h
# A minute's tokens, against a renewal threshold of an hour: the threshold test.
role_for_controller kubernetes es-minute 60s 1h
# A role bound to another ServiceAccount: login with the controller's token is denied.
bao POST auth/kubernetes/role/es-other-sa '{"bound_service_account_names":["someone-else"],
  "bound_service_account_namespaces":["es-system"],"token_policies":["es-read"]}' >/dev/null
log "bootstrapped: $( [[ ${BOOTSTRAP_CRD:-1} == 1 ]] && echo "CRD Established, ")OpenBao Kubernetes auth (role es-controller), KV v2 secret/, KV v1 kv1/"
