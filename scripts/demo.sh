#!/usr/bin/env bash
# The main job: set up, start a local registry-service with its own etcd member,
# add a service through the library, then get and list it with registry-cli.
# KEEP_RUNNING=1 leaves the daemon running (stop it with: kill $(cat .run/pid)).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

RUN=.run
mkdir -p "$RUN"
# The passphrase goes in a 0600 file, never on a command line (`ps` shows those).
(umask 077; printf '%s\n' "${P2P_PSK:-physarum demo passphrase}" >"$RUN/passphrase")
unset P2P_PSK
# Only this client key may add and delete; any other peer of the network may only read.
[ -s "$RUN/writer.key" ] || .venv/bin/registry-cli keygen "$RUN/writer.key" >/dev/null
.venv/bin/registry-cli id --keyfile "$RUN/writer.key" >"$RUN/writers"
rm -f "$RUN/addrs"
.venv/bin/registry-service --local --new-etcd-cluster \
    --keyfile "$RUN/identity.key" --algo Ed25519 \
    --listen /ip4/127.0.0.1/tcp/0 \
    --etcd-client-port 32379 --etcd-peer-port 32380 --etcd-data-dir "$RUN/etcd" \
    --prom-listen-addr 127.0.0.1:9102 --addr-file "$RUN/addrs" \
    --psk-file "$RUN/passphrase" --writers-file "$RUN/writers" >"$RUN/registry-service.log" 2>&1 &
echo $! >"$RUN/pid"
[ "${KEEP_RUNNING:-0}" = 1 ] || trap 'kill "$(cat "$RUN/pid")" 2>/dev/null; wait 2>/dev/null || true' EXIT

for _ in $(seq 300); do [ -s "$RUN/addrs" ] && break; sleep 0.1; done
[ -s "$RUN/addrs" ] || { echo "registry-service did not start:"; tail -20 "$RUN/registry-service.log"; exit 1; }
BOOTSTRAP="$(head -1 "$RUN/addrs")"
echo "registry-service is serving at $BOOTSTRAP (log: $RUN/registry-service.log)"
export P2P_BOOTSTRAPS="$BOOTSTRAP" P2P_PSK_FILE="$RUN/passphrase"

echo "== add via the library, as the listed writer"
REGISTRY_CLI_KEYFILE="$RUN/writer.key" .venv/bin/python examples/library_demo.py "$BOOTSTRAP"
echo "== registry-cli get hello-service"; .venv/bin/registry-cli get hello-service
echo "== registry-cli list"; .venv/bin/registry-cli list
echo "== registry-cli --json list"; .venv/bin/registry-cli --json list
echo "== registry-cli delete hello-service, by a peer not in the writers list (exit 5)"
code=0; .venv/bin/registry-cli delete hello-service || code=$?
[ "$code" = 5 ] || { echo "expected exit code 5, got $code"; exit 1; }
echo "== metrics"; curl -s http://127.0.0.1:9102/metrics | grep -E '^registry_(requests_total|refused_writes_total|etcd_healthy)' || true
