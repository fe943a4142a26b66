#!/usr/bin/env bash
# Idempotent setup for the Docker-backed tests and benchmark of `registry-cli add`.
#
# - installs Debian's docker.io, docker-registry, busybox-static, golang-go and
#   apache2-utils when missing (needs root and apt; skipped when all are present);
# - starts dockerd in the background (log: $DOCKERD_LOG) when no engine answers,
#   and waits for it;
# - builds two base images offline with `docker import`, because nothing can be
#   pulled from Docker Hub on the project's machines:
#     physarum/busybox:local   a rootfs of Debian's static busybox + applet links
#     physarum/registry:local  Debian's docker-registry binary (+ the libc it links)
#                              with the same default config as the registry:2 image
#                              (no auth; env REGISTRY_AUTH_* enables htpasswd)
#
# Safe to run again: each step checks before it acts.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/physarum-dockerd.log}
BUSYBOX_IMAGE=${BUSYBOX_IMAGE:-physarum/busybox:local}
REGISTRY_IMAGE=${REGISTRY_IMAGE:-physarum/registry:local}

log() { printf 'setup-docker: %s\n' "$*" >&2; }

need_packages=()
command -v dockerd >/dev/null 2>&1 || need_packages+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need_packages+=(docker-registry)
[ -x /bin/busybox ] && file_is_static=$(file -b /bin/busybox 2>/dev/null | grep -c 'statically linked' || true)
[ "${file_is_static:-0}" -ge 1 ] || need_packages+=(busybox-static)
command -v go >/dev/null 2>&1 || need_packages+=(golang-go)
command -v htpasswd >/dev/null 2>&1 || need_packages+=(apache2-utils)
command -v file >/dev/null 2>&1 || need_packages+=(file)

if [ "${#need_packages[@]}" -gt 0 ]; then
    log "installing ${need_packages[*]}"
    apt_install --fresh-lists --recommends "${need_packages[@]}"
fi

# The CLI may be a newer static client (e.g. /usr/local/bin/docker); any client works.
if ! docker info >/dev/null 2>&1; then
    log "no Docker engine answers; starting dockerd (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid: the daemon must outlive this script and the shell that ran it.
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        log "dockerd did not come up; last lines of $DOCKERD_LOG:"
        tail -n 20 "$DOCKERD_LOG" >&2
        exit 1
    fi
fi
log "Docker engine $(docker version --format '{{.Server.Version}}') answers"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

if ! image_exists "$BUSYBOX_IMAGE"; then
    log "building $BUSYBOX_IMAGE from /bin/busybox"
    root="$workdir/busybox"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    chmod 1777 "$root/tmp"
    tar -C "$root" -c . | docker import \
        --change 'ENV PATH=/bin' \
        --change 'CMD ["/bin/sh"]' \
        - "$BUSYBOX_IMAGE" >/dev/null
fi

if ! image_exists "$REGISTRY_IMAGE"; then
    log "building $REGISTRY_IMAGE from /usr/bin/docker-registry"
    root="$workdir/registry"
    mkdir -p "$root/bin" "$root/etc/docker/registry" "$root/var/lib/registry" "$root/tmp"
    cp /usr/bin/docker-registry "$root/bin/registry"
    # Debian builds it dynamically linked against libc: copy exactly what ldd names.
    for lib in $(ldd /usr/bin/docker-registry | grep -o '/[^ ]*'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
    chmod 1777 "$root/tmp"
    # Same settings as the registry:2 image's default config, so that one
    # harness drives either image (auth comes from REGISTRY_AUTH_HTPASSWD_*).
    cat >"$root/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
    tar -C "$root" -c . | docker import \
        --change 'ENTRYPOINT ["/bin/registry"]' \
        --change 'CMD ["serve", "/etc/docker/registry/config.yml"]' \
        --change 'EXPOSE 5000' \
        - "$REGISTRY_IMAGE" >/dev/null
fi

log "images ready: $BUSYBOX_IMAGE $REGISTRY_IMAGE"
