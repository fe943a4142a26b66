#!/usr/bin/env bash
# Set up (idempotently) and run the whole test suite: lint, types, unit, integration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for extra in scripts/setup-docker.sh scripts/setup-cid-reference.sh scripts/setup-interop.sh \
    scripts/setup-deploy.sh scripts/setup-http.sh; do
    [ -f "$extra" ] && bash "$extra"
done
echo "== ruff";   .venv/bin/ruff check .
echo "== mypy";   .venv/bin/mypy

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
echo "== integration"; run_pytest tests/integration || status=1
echo "skipped tests: ${total[skipped]} (must be 0)"
echo "unit+integration: ${total[passed]} passed, $(( total[failed] + total[errors] )) failed, ${total[skipped]} skipped"
if [ "${total[skipped]}" -ne 0 ]; then status=1; fi
exit "$status"
