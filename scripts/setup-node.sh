#!/usr/bin/env bash
# Make Node.js >= 20 available for the JS interop peer and the reference CID importer.
# Debian 12 ships Node 18. When the machine's node is older (or missing), install the
# `node` package from the npm registry (it carries the official binaries) into
# .tools/node; tests/integration/conftest.py puts its bin/ first on PATH. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

want=${REQUIRED_NODE_MAJOR:-20}
tools="$PWD/.tools/node"
PATH="$tools/node_modules/.bin:$PATH"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt "$want" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "setup-node: installing Debian's nodejs and npm (to fetch Node $want from npm)"
        apt_install --fresh-lists nodejs npm
    fi
    echo "setup-node: node $(node --version 2>/dev/null || echo missing) is older than $want;" \
         "installing node@$want from the npm registry into $tools"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "node@$want"
    hash -r
fi

if [ "$(node_major)" -lt "$want" ]; then
    echo "setup-node: Node.js >= $want is needed, and none could be installed" >&2
    exit 1
fi
echo "node ready: $(command -v node) $(node --version)"
