#!/usr/bin/env bash
# Install the two reference CID implementations the content-hasher tests compare against:
# Debian's ipfs-cid (`ipfs_cid FILE`) and a pinned ipfs-unixfs-importer (npm).
# Idempotent: does nothing when both are already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reference_dir="$(cd "$here/.." && pwd)/tests/integration/cid_reference"

if ! command -v ipfs_cid >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    # The package lists may be missing or stale on a fresh machine.
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ipfs-cid >/dev/null
fi

bash "$here/setup-node.sh"
PATH="$(cd "$here/.." && pwd)/.tools/node/node_modules/.bin:$PATH"

if [ ! -d "$reference_dir/node_modules/ipfs-unixfs-importer" ]; then
    # npm ci installs exactly package-lock.json, so the reference cannot drift.
    (cd "$reference_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "cid references ready: $(command -v ipfs_cid), $reference_dir/cid.mjs"
