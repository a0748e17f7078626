#!/usr/bin/env bash
# Creates the stack's own PKI once: a CA, the API server's serving certificate (127.0.0.1, localhost), an
# admin client certificate in group system:masters, and the ServiceAccount token signing key pair.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
pki=$STACK_DIR/pki
[[ -f $pki/.complete ]] && exit 0
rm -rf "$pki" && mkdir -p "$pki" && cd "$pki"

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=es-test-ca" \
  -keyout ca.key -out ca.crt 2>/dev/null

openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr 2>/dev/null
# STACK_ADVERTISE_ADDRESS: the address Pods of the real-node test reach the API server at.
sans=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc${STACK_ADVERTISE_ADDRESS:+,IP:$STACK_ADVERTISE_ADDRESS}
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" >apiserver.ext
openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile apiserver.ext -out apiserver.crt 2>/dev/null

openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=es-test-admin" -keyout admin.key -out admin.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >admin.ext
openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile admin.ext -out admin.crt 2>/dev/null

openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
touch .complete
