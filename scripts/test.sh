#!/usr/bin/env bash
# Set up (idempotently) and run the whole test suite: lint, types, unit, integration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for extra in scripts/setup-docker.sh scripts/setup-cid-reference.sh scripts/setup-interop.sh \
    scripts/setup-deploy.sh; do
    [ -f "$extra" ] && bash "$extra"
done
echo "== ruff";   .venv/bin/ruff check .
echo "== mypy";   .venv/bin/mypy
echo "== unit";   .venv/bin/pytest -q tests/unit
echo "== integration"; .venv/bin/pytest -q tests/integration
