#!/usr/bin/env bash
# Idempotent set-up of the HTTP API's tests and benchmark (docs/http.md):
# - the `prometheus` server binary, taken from Debian's package without installing it
#   (the package would also install and start a Prometheus service), for the
#   service-discovery test;
# - Debian's `wrk`, the load tool of benchmarks/bench_http.py.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.run/http-tools
log() { printf 'setup-http: %s\n' "$*" >&2; }

apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    [ -n "$(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null)" ] \
        || flock /tmp/apt.lock apt-get update -qq
    flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
apt_install wrk

if [ ! -x "$TOOLS/prometheus" ]; then
    log "extracting prometheus from Debian's prometheus package"
    mkdir -p "$TOOLS"
    work=$(mktemp -d) && chmod 755 "$work"  # apt downloads as user _apt
    (cd "$work" && flock /tmp/apt.lock apt-get download -qq prometheus >/dev/null)
    dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
    install -m 0755 "$work/root/usr/bin/prometheus" "$TOOLS/prometheus"
    rm -rf "$work"
fi
