#!/usr/bin/env bash
# Idempotent set-up of the dashboard's browser tests (docs/http.md, "The dashboard"):
# Debian's chromium and chromium-driver (no tool downloads a browser), and axe-core
# from npm (tests/integration/ui, pinned by its package-lock.json), which the tests
# inject into the page.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/apt.sh

apt_install chromium chromium-driver
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

ui_dir=tests/integration/ui
stamp="$ui_dir/node_modules/.installed-lock.sha256"
want="$(sha256sum "$ui_dir/package-lock.json" | cut -d' ' -f1)"
if [ "$want" != "$(cat "$stamp" 2>/dev/null || true)" ]; then
    (cd "$ui_dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi
echo "dashboard tests ready: $(chromium --version 2>/dev/null), $(chromedriver --version | cut -d' ' -f1-2)"
