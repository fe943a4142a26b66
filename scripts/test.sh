#!/usr/bin/env bash
# Set up (idempotently) and run the whole test suite: lint, types, layer contracts, unit,
# integration.
#   --unit   the fast inner loop: ruff, mypy, import-linter and the unit tests only
#            (no Docker, npm or deploy set-up, no integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
unit_only=0
case "${1:-}" in
    --unit) unit_only=1 ;;
    "") ;;
    *) echo "usage: $0 [--unit]" >&2; exit 2 ;;
esac
bash scripts/setup.sh
if [ "$unit_only" -eq 0 ]; then
    bash scripts/setup-integration.sh
fi
echo "== ruff";   .venv/bin/ruff check .
echo "== mypy";   .venv/bin/mypy
# The layers and their import contracts (pyproject.toml, [tool.importlinter]).
echo "== import-linter"; .venv/bin/lint-imports --no-cache

# pytest's summary line counts; a skip is a failure here (tests/conftest.py turns
# skips into failures; this check also catches anything that slips past it).
declare -A total=([passed]=0 [failed]=0 [skipped]=0 [errors]=0)
run_pytest() {
    local log rc word
    log=$(mktemp)
    set +e
    .venv/bin/pytest -q -rs "$@" | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    for word in passed failed skipped; do
        total[$word]=$(( total[$word] + $(tail -n 1 "$log" | grep -o "[0-9]* $word" | grep -o '[0-9]*' || echo 0) ))
    done
    total[errors]=$(( total[errors] + $(tail -n 1 "$log" | grep -o '[0-9]* error' | grep -o '[0-9]*' || echo 0) ))
    rm -f "$log"
    return "$rc"
}
status=0
echo "== unit";        run_pytest tests/unit || status=1
if [ "$unit_only" -eq 0 ]; then
    echo "== integration"; run_pytest tests/integration || status=1
fi
echo "skipped tests: ${total[skipped]} (must be 0)"
echo "unit+integration: ${total[passed]} passed, $(( total[failed] + total[errors] )) failed, ${total[skipped]} skipped"
if [ "${total[skipped]}" -ne 0 ]; then status=1; fi
exit "$status"
