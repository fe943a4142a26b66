#!/bin/sh
# Entrypoint of the physarum-registry image (docs/deploy.md).
#
#   registry-entrypoint [daemon flags]   run registry-service (the default)
#   registry-entrypoint status [flags]   registry-service status (the HEALTHCHECK)
#   registry-entrypoint CMD ...          run CMD (registry-cli, sh, ...)
#
# Environment:
#   P2P_PSK_FILE        passphrase file (default /run/secrets/registry_psk, a Docker
#                       secret); read into the daemon's environment, never its argv
#   REGISTRY_ETCD_IP / REGISTRY_ETCD_CLIENT_PORT / REGISTRY_ETCD_PEER_PORT
#                       the --etcd-* flags, for the daemon and status alike
#   REGISTRY_LISTEN     libp2p listen multiaddr (image default /ip4/0.0.0.0/tcp/4001)
#   REGISTRY_NAME, REGISTRY_PEERS, REGISTRY_PEERS_DIR
#                       compose: this instance writes its addresses to
#                       $REGISTRY_PEERS_DIR/$REGISTRY_NAME.addrs and bootstraps to the
#                       other names in $REGISTRY_PEERS (a volume shared by the instances)
#   REGISTRY_NEW_CLUSTER=1   start a new cluster (the first instance; ignored once it
#                       holds a member)
set -eu

etcd_flags=""
[ -n "${REGISTRY_ETCD_IP:-}" ] && etcd_flags="$etcd_flags --etcd-ip $REGISTRY_ETCD_IP"
[ -n "${REGISTRY_ETCD_CLIENT_PORT:-}" ] \
    && etcd_flags="$etcd_flags --etcd-client-port $REGISTRY_ETCD_CLIENT_PORT"
[ -n "${REGISTRY_ETCD_PEER_PORT:-}" ] \
    && etcd_flags="$etcd_flags --etcd-peer-port $REGISTRY_ETCD_PEER_PORT"

case "${1:-}" in
    status) shift; exec registry-service status $etcd_flags "$@" ;;
    ""|-*) ;;
    *) exec "$@" ;;
esac

psk_file=${P2P_PSK_FILE:-/run/secrets/registry_psk}
if [ -z "${P2P_PSK:-}" ] && [ -e "$psk_file" ]; then
    P2P_PSK=$(cat "$psk_file")
    export P2P_PSK
fi

peers_dir=${REGISTRY_PEERS_DIR:-/run/physarum-registry}
set -- ${REGISTRY_LISTEN:+--listen "$REGISTRY_LISTEN"} "$@"
[ -n "${REGISTRY_NAME:-}" ] && set -- --addr-file "$peers_dir/$REGISTRY_NAME.addrs" "$@"
[ "${REGISTRY_NEW_CLUSTER:-}" = 1 ] && set -- --new-etcd-cluster "$@"

# The other instances' addresses (not their loopback ones), as they wrote them.
peer_addrs() {
    for peer in ${REGISTRY_PEERS:-}; do
        [ "$peer" = "${REGISTRY_NAME:-}" ] && continue
        [ -f "$peers_dir/$peer.addrs" ] && grep -v '^/ip4/127\.' "$peers_dir/$peer.addrs"
    done
    return 0
}
addrs=$(peer_addrs | tr '\n' ' ')
if [ -z "$addrs" ] && [ -n "${REGISTRY_PEERS:-}" ] && [ "${REGISTRY_NEW_CLUSTER:-}" != 1 ]; then
    echo "registry-entrypoint: waiting for another instance's addresses in $peers_dir" >&2
    waited=0
    while [ -z "$addrs" ] && [ "$waited" -lt "${REGISTRY_PEER_WAIT:-300}" ]; do
        sleep 1
        waited=$((waited + 1))
        addrs=$(peer_addrs | tr '\n' ' ')
    done
fi
P2P_BOOTSTRAPS="${P2P_BOOTSTRAPS:-} $addrs"
export P2P_BOOTSTRAPS

exec registry-service $etcd_flags "$@"
