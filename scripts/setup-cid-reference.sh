#!/usr/bin/env bash
# Install the two reference CID implementations the content-hasher tests compare against:
# Debian's ipfs-cid (`ipfs_cid FILE`) and a pinned ipfs-unixfs-importer (npm).
# Idempotent: does nothing when both are there and package-lock.json is unchanged since the
# last install.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reference_dir="$(cd "$here/.." && pwd)/tests/integration/cid_reference"

source "$here/lib/apt.sh"
if ! command -v ipfs_cid >/dev/null 2>&1; then
    # The package lists may be missing or stale on a fresh machine.
    apt_install --fresh-lists --recommends ipfs-cid
fi

bash "$here/setup-node.sh"
PATH="$(cd "$here/.." && pwd)/.tools/node/node_modules/.bin:$PATH"

stamp="$reference_dir/node_modules/.installed-lock.sha256"
want="$(sha256sum "$reference_dir/package-lock.json" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    # npm ci installs exactly package-lock.json, so the reference cannot drift; it runs
    # again whenever the lock file changes.
    (cd "$reference_dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi

echo "cid references ready: $(command -v ipfs_cid), $reference_dir/cid.mjs"
