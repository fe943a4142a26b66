#!/usr/bin/env bash
# Install what the interop tests run against: the pinned js-libp2p peer
# (tests/integration/interop, from the npm registry; @libp2p/mdns included, for
# test_mdns_lan.py) and Debian's Go toolchain, whose
# encoding/json checks the golden vectors. Idempotent: `npm ci` runs only when
# node_modules is missing or package-lock.json changed since the last install.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peer_dir="$(cd "$here/.." && pwd)/tests/integration/interop"
stamp="$peer_dir/node_modules/.installed-lock.sha256"

bash "$here/setup-node.sh"
PATH="$(cd "$here/.." && pwd)/.tools/node/node_modules/.bin:$PATH"

source "$here/lib/apt.sh"
if ! command -v go >/dev/null 2>&1; then
    apt_install --fresh-lists --recommends golang-go
fi

want="$(sha256sum "$peer_dir/package-lock.json" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    # npm ci installs exactly the lock file, so the peer cannot drift. Some packages
    # declare engines "node >= 22"; the polyfill covers what they use (see docs/interop.md).
    (cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi

echo "interop peer ready: node $(node --version), $peer_dir/peer.mjs; $(go version)"
