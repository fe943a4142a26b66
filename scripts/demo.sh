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
# The HTTP API's write token for this demo; the tokens file keeps only its hash.
rm -f "$RUN/http-tokens"
HTTP_TOKEN=$(.venv/bin/registry-service http-token add demo --role write \
    --tokens-file "$RUN/http-tokens" | tail -1)
rm -f "$RUN/addrs"
.venv/bin/registry-service --local --new-etcd-cluster \
    --keyfile "$RUN/identity.key" --algo Ed25519 \
    --listen /ip4/127.0.0.1/tcp/0 \
    --etcd-client-port 32379 --etcd-peer-port 32380 --etcd-data-dir "$RUN/etcd" \
    --prom-listen-addr 127.0.0.1:9102 --addr-file "$RUN/addrs" \
    --psk-file "$RUN/passphrase" --writers-file "$RUN/writers" \
    --http-listen 127.0.0.1:8500 --http-tokens-file "$RUN/http-tokens" >"$RUN/registry-service.log" 2>&1 &
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
HTTP=http://127.0.0.1:8500
echo "== the HTTP API is at $HTTP/v1/ (docs/http.md)"
echo "== curl $HTTP/v1/services/hello-service"; curl -s "$HTTP/v1/services/hello-service"; echo
echo "== curl -X PUT (with the write token) $HTTP/v1/services/http-service"
# The token goes in a header file, not on curl's command line (ps shows those).
(umask 077; printf 'Authorization: Bearer %s\n' "$HTTP_TOKEN" >"$RUN/http-auth")
curl -s -X PUT -H @"$RUN/http-auth" --data '{"ContentHash":"QmHttp","CpuReq":1}' \
    "$HTTP/v1/services/http-service"; echo
echo "== curl $HTTP/v1/services"; curl -s "$HTTP/v1/services"; echo
echo "== curl $HTTP/v1/health"; curl -s "$HTTP/v1/health"; echo
echo "== metrics"; curl -s http://127.0.0.1:9102/metrics | grep -E '^registry_(requests_total|refused_writes_total|etcd_healthy)' || true
