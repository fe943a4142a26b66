#!/usr/bin/env bash
# Build the project image from the root Dockerfile; skip when its inputs are unchanged.
#
#   bash scripts/build-image.sh [IMAGE]      (default physarum-registry:latest)
#
# Containers here cannot reach PyPI, so the wheels come from the host: they are built
# into deploy/wheelhouse/ with the host's pip (and its configuration) and the build runs
# with WHEELHOUSE_ONLY=1. With internet, a plain `docker build .` needs none of this.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${1:-physarum-registry:latest}
BASE_IMAGE=debian:bookworm-slim
log() { printf 'build-image: %s\n' "$*" >&2; }

inputs() {
    docker image inspect -f '{{.Id}}' "$BASE_IMAGE"
    sha256sum Dockerfile .dockerignore pyproject.toml README.md deploy/docker-entrypoint.sh
    find domain application adapters entrypoints -name '*.py' -print0 | sort -z \
        | xargs -0 sha256sum
}
digest=$(inputs | sha256sum | cut -c1-32)
label='{{index .Config.Labels "org.physarum.inputs"}}'
if [ "$(docker image inspect -f "$label" "$IMAGE" 2>/dev/null)" = "$digest" ]; then
    log "$IMAGE is up to date"
    exit 0
fi

log "building the wheels into deploy/wheelhouse"
rm -f deploy/wheelhouse/*.whl
.venv/bin/pip wheel -q --disable-pip-version-check -w deploy/wheelhouse . 'setuptools>=68' wheel \
    2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }
rm -f deploy/wheelhouse/physarum_registry-*.whl  # the image builds its own from the source

old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
log "building $IMAGE"
started=$(date +%s)
docker build -q --build-arg WHEELHOUSE_ONLY=1 --label "org.physarum.inputs=$digest" \
    -t "$IMAGE" . >/dev/null
new=$(docker image inspect -f '{{.Id}}' "$IMAGE")
# Our previous build of the same tag, now untagged (ignored if a container still uses it).
if [ -n "$old" ] && [ "$old" != "$new" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
log "built $IMAGE in $(( $(date +%s) - started )) s: $(docker image inspect -f '{{.Size}}' "$IMAGE") bytes"
