#!/usr/bin/env bash
# Idempotent set-up of everything physarum-registry needs on Debian 12:
# the Python venv with the project, and Debian's etcd. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh

apt_install etcd-server etcd-client python3-venv libsodium23
# The partition tests: network namespaces, veths, a bridge, iptables cuts and NFQUEUE.
apt_install iproute2 iptables
# Debian starts a system etcd on 2379 where systemd runs; our daemons run
# their own members, so the packaged service stays off.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import entrypoints, libp2p, etcd3, pytest" 2>/dev/null \
    || [ pyproject.toml -nt .venv/.installed ]; then
    echo "setup: installing the project into .venv"
    # (this machine's pip.conf names local mirrors that may be absent: drop that noise)
    .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 \
        | { grep -v "^WARNING: Location .* is ignored" || true; }
    touch .venv/.installed
fi
