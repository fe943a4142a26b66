#!/usr/bin/env bash
# The integration suite on a busy machine: run it N times in a row while
# `stress-ng --cpu 2` keeps both cores busy, and print passed/failed/duration per run.
#
#   bash scripts/stress-suite.sh [N] [PYTEST ARGS...]      # N defaults to 3
#
# e.g. `bash scripts/stress-suite.sh 1 -k partition` for one run of a part. Each run's
# pytest output goes to stress-run-<i>.log in $STRESS_LOG_DIR (default: a new temporary
# directory, printed). Exit status: 0 if every run passed. The hog is stopped however
# this script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
[ $# -gt 0 ] && shift
case "$runs" in ''|*[!0-9]*) echo "usage: $0 [N] [PYTEST ARGS...]" >&2; exit 2 ;; esac

source scripts/lib/apt.sh
apt_install stress-ng
bash scripts/setup.sh >/dev/null
bash scripts/setup-integration.sh >/dev/null

log_dir="${STRESS_LOG_DIR:-$(mktemp -d -t stress-suite.XXXXXX)}"
mkdir -p "$log_dir"
echo "logs in $log_dir"

stress-ng --cpu 2 --timeout 0 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true' EXIT

status=0
summary=()
for ((i = 1; i <= runs; i++)); do
    log="$log_dir/stress-run-$i.log"
    started=$(date +%s)
    set +e
    .venv/bin/pytest -q -rfEs -p no:cacheprovider tests/integration "$@" >"$log" 2>&1
    rc=$?
    set -e
    took=$(( $(date +%s) - started ))
    last=$(tail -n 1 "$log")
    passed=$(grep -o '[0-9]* passed' <<<"$last" | grep -o '[0-9]*' || echo 0)
    failed=$(grep -o '[0-9]* failed' <<<"$last" | grep -o '[0-9]*' || echo 0)
    errors=$(grep -o '[0-9]* error' <<<"$last" | grep -o '[0-9]*' || echo 0)
    line="run $i: ${passed} passed, $((failed + errors)) failed, ${took} s (pytest exit $rc)"
    echo "$line"
    grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /' || true
    summary+=("$line")
    [ "$rc" -eq 0 ] || status=1
done
echo "== under stress-ng --cpu 2"
printf '%s\n' "${summary[@]}"
exit "$status"
