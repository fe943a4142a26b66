#!/bin/sh
# Entrypoint of the physarum-registry image (docs/deploy.md).
#
#   registry-entrypoint [daemon flags]   run registry-service (the default)
#   registry-entrypoint status [flags]   registry-service status (the HEALTHCHECK)
#   registry-entrypoint CMD ...          run CMD (registry-cli, sh, ...)
#
# Environment:
#   P2P_PSK_FILE        passphrase file (default /run/secrets/registry_psk, a Docker
#                       secret), which the daemon reads: the passphrase is on no command
#                       line and in no environment
#   REGISTRY_ETCD_IP / REGISTRY_ETCD_CLIENT_PORT / REGISTRY_ETCD_PEER_PORT
#                       the --etcd-* flags, for the daemon and status alike
#   REGISTRY_LISTEN     libp2p listen multiaddr (image default /ip4/0.0.0.0/tcp/4001)
#   REGISTRY_NAME, REGISTRY_PEERS, REGISTRY_PEERS_DIR
#                       compose: this instance writes its address to
#                       $REGISTRY_PEERS_DIR/$REGISTRY_NAME.addr before it starts and
#                       bootstraps to the other names in $REGISTRY_PEERS (a volume shared
#                       by the instances), waiting up to $REGISTRY_PEER_WAIT s (120) for them
#   REGISTRY_HTTP_LISTEN  --http-listen HOST:PORT of the HTTP API (docs/http.md)
#   REGISTRY_NEW_CLUSTER=1   start a new cluster (the first instance; ignored once it
#                       holds a member)
set -eu

etcd_flags=""
[ -n "${REGISTRY_ETCD_IP:-}" ] && etcd_flags="$etcd_flags --etcd-ip $REGISTRY_ETCD_IP"
[ -n "${REGISTRY_ETCD_CLIENT_PORT:-}" ] \
    && etcd_flags="$etcd_flags --etcd-client-port $REGISTRY_ETCD_CLIENT_PORT"
[ -n "${REGISTRY_ETCD_PEER_PORT:-}" ] \
    && etcd_flags="$etcd_flags --etcd-peer-port $REGISTRY_ETCD_PEER_PORT"

# The daemon and registry-cli read the passphrase file themselves (P2P_PSK_FILE).
if [ -z "${P2P_PSK:-}" ] && [ -z "${P2P_PSK_FILE:-}" ] && [ -e /run/secrets/registry_psk ]; then
    export P2P_PSK_FILE=/run/secrets/registry_psk
fi

case "${1:-}" in
    status) shift; exec registry-service status $etcd_flags "$@" ;;
    ""|-*) ;;
    *) exec "$@" ;;
esac

peers_dir=${REGISTRY_PEERS_DIR:-/run/physarum-registry}
set -- ${REGISTRY_LISTEN:+--listen "$REGISTRY_LISTEN"} "$@"
set -- ${REGISTRY_HTTP_LISTEN:+--http-listen "$REGISTRY_HTTP_LISTEN"} "$@"
[ "${REGISTRY_NEW_CLUSTER:-}" = 1 ] && set -- --new-etcd-cluster "$@"
key="$HOME/.privKeyHashLookup"  # on the volume; named, so that we know its peer id
set -- --keyfile "$key" "$@"

# Compose: publish our address before starting (the key, and so the peer id, is made
# first), then bootstrap to every other instance's: each lists all the others.
addrs=""
if [ -n "${REGISTRY_NAME:-}" ]; then
    port=${REGISTRY_LISTEN##*/tcp/}
    [ -e "$key" ] || registry-cli keygen "$key" >/dev/null
    peer_id=$(registry-cli id --keyfile "$key")
    echo "/ip4/${REGISTRY_ETCD_IP:?REGISTRY_NAME needs REGISTRY_ETCD_IP}/tcp/${port%%/*}/p2p/$peer_id" \
        > "$peers_dir/$REGISTRY_NAME.addr.tmp"
    mv "$peers_dir/$REGISTRY_NAME.addr.tmp" "$peers_dir/$REGISTRY_NAME.addr"
    waited=0
    while :; do
        addrs="" missing=""
        for peer in ${REGISTRY_PEERS:-}; do
            [ "$peer" = "$REGISTRY_NAME" ] && continue
            if [ -f "$peers_dir/$peer.addr" ]; then
                addrs="$addrs $(cat "$peers_dir/$peer.addr")"
            else
                missing="$missing $peer"
            fi
        done
        [ -z "$missing" ] && break
        # Without the others a new cluster still starts; a joining instance needs one.
        if [ "$waited" -ge "${REGISTRY_PEER_WAIT:-120}" ] && { [ -n "$addrs" ] \
                || [ "${REGISTRY_NEW_CLUSTER:-}" = 1 ]; }; then
            echo "registry-entrypoint: starting without the addresses of$missing" >&2
            break
        fi
        sleep 1
        waited=$((waited + 1))
    done
fi
P2P_BOOTSTRAPS="${P2P_BOOTSTRAPS:-} $addrs"
export P2P_BOOTSTRAPS

exec registry-service $etcd_flags "$@"
