"""Every change this project makes to py-libp2p 0.8.1, and the one place they are applied.

``docs/py-libp2p.md`` has the table: each change, why (with its measured figure), the
upstream names it touches, its test, and the upstream issue to watch. A program builds
its hosts with ``adapters.libp2p.node.build_host``, which calls :func:`apply` once per
host; :func:`apply` first checks (once per process) that the installed py-libp2p is the
pinned version and still has every name a change needs, and fails loudly otherwise.

Changes that are not per host: ``kad.ServerModeKadDHT`` (the DHT class our nodes
run), ``dht_keys.provider_key`` and ``lean_import`` (whole CLI processes only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from adapters.libp2p.upstream.requirements import PINNED_VERSION, Needs, UpstreamDrift
from adapters.libp2p.upstream.requirements import check as _check

__all__ = ["NEEDS", "PINNED_VERSION", "UpstreamDrift", "apply", "check", "use_fast_path"]

_SWARM = "libp2p.network.swarm:Swarm"
_YAMUX = "libp2p.stream_muxer.yamux.yamux"
NEEDS: tuple[Needs, ...] = (
    Needs("inbound slots", f"{_SWARM}._handle_inbound_connection",
          ("self", "read_write_closer", "maddr")),
    Needs("inbound slots", f"{_SWARM}._build_remote_multiaddr", ("self", "read_write_closer")),
    Needs("inbound slots", f"{_SWARM}.upgrade_inbound_raw_conn", ("self", "raw_conn", "maddr")),
    Needs("inbound slots", f"{_SWARM}.add_conn", ("self", "muxed_conn")),
    Needs("inbound slots", "libp2p.network.connection.raw_connection:RawConnection"),
    Needs("auto dialer", "libp2p.network.auto_connector:AutoConnector.maybe_connect", ("self",)),
    Needs("auto dialer", "libp2p.network.auto_connector:AutoConnector.record_disconnect",
          ("self", "peer_id")),
    Needs("rate limiter memory", "libp2p.rcmgr.rate_limiter:RateLimitConfig.max_peers"),
    Needs("own peer record", "libp2p.peer.peerstore:PeerStore.__init__",
          ("self", "max_records", "max_peers")),
    Needs("own peer record", "libp2p.peer.peerstore:PeerStore._enforce_peer_limit", ("self",)),
    Needs("connection limits", "libp2p.rcmgr.manager:ResourceManager.__init__",
          ("self", "limits")),
    Needs("connection limits", "libp2p.rcmgr.manager:ResourceLimits.__init__",
          ("self", "max_connections")),
    Needs("connection limits",
          "libp2p.rcmgr.connection_limits:ConnectionLimits.max_established_inbound"),
    Needs("connection limits",
          "libp2p.rcmgr.connection_limits:ConnectionLimits.max_pending_inbound"),
    Needs("connection limits",
          "libp2p.rcmgr.connection_limits:ConnectionLimits.max_established_total"),
    Needs("peer records", "libp2p.peer.peerstore:PeerStore.consume_peer_record",
          ("self", "envelope", "ttl")),
    Needs("peer records", "libp2p.peer.peerstore:PeerStore.get_peer_record", ("self", "peer_id")),
    Needs("yamux window", f"{_YAMUX}:Yamux._write_frame", ("self", "data")),
    Needs("yamux window", f"{_YAMUX}:YamuxStream._auto_tune_and_send_window_update",
          ("self", "bytes_read")),
    Needs("yamux window", f"{_YAMUX}:YamuxStream.send_window_update",
          ("self", "increment", "skip_lock")),
    Needs("yamux window", f"{_YAMUX}:Yamux._read_data_body", ("self", "length")),
    Needs("yamux read loop", f"{_YAMUX}:Yamux.read_stream", ("self", "stream_id", "n")),
    Needs("yamux read loop", f"{_YAMUX}:Yamux._finalize_stream_locked", ("self", "stream")),
    Needs("yamux read loop", f"{_YAMUX}:Yamux._cleanup_on_error", ("self",)),
    Needs("yamux read loop", f"{_YAMUX}:YamuxStream.__init__",
          ("self", "stream_id", "conn", "is_initiator")),
    Needs("yamux window", "libp2p.security.secure_session:SecureSession._drain", ("self", "n")),
    Needs("yamux tasks", f"{_YAMUX}:Yamux.start", ("self",)),
    Needs("yamux tasks", f"{_YAMUX}:Yamux.handle_incoming", ("self",)),
    Needs("yamux tasks", f"{_YAMUX}:Yamux._sweep_stale_streams", ("self", "now")),
    Needs("yamux tasks", f"{_YAMUX}:_STALE_STREAM_SWEEP_INTERVAL"),
    Needs("yamux window", "libp2p.stream_muxer.muxer_multistream:MuxerMultistream."
          "_annotate_connection"),
    Needs("yamux window", "libp2p.stream_muxer.muxer_multistream:MuxerMultistream.new_conn",
          ("self", "conn", "peer_id")),
    Needs("pipelined multiselect", "libp2p.protocol_muxer.multiselect:Multiselect.negotiate",
          ("self", "communicator")),
    Needs("stream notifications", f"{_SWARM}._notify", ("self", "method")),
    Needs("stream notifications", "libp2p.host.basic_host:_IdentifyNotifee"),
    Needs("server-mode DHT", "libp2p.kad_dht.peer_routing:PeerRouting."
          "_query_single_peer_for_closest", ("self", "peer")),
    Needs("server-mode DHT", "libp2p.kad_dht.kad_dht:KadDHT.add_peer", ("self", "peer_id")),
    Needs("DHT keys", "libp2p.kad_dht.kad_dht:_encode_key", ("key",)),
    Needs("provider cap", "libp2p.kad_dht.provider_store:ProviderStore.add_provider",
          ("self", "key", "provider")),
    Needs("provider cap", "libp2p.kad_dht.provider_store:BUCKET_SIZE"),
    Needs("provider cap", "libp2p.kad_dht.provider_store:ProviderRecord"),
    Needs("connection cycles", f"{_SWARM}.add_conn", ("self", "muxed_conn", "direction")),
    Needs("connection cycles", "libp2p.network.connection.swarm_connection:SwarmConn."
          "_on_muxed_conn_closed", ("self",)),
    Needs("connection cycles", "libp2p.network.connection.swarm_connection:SwarmConn."
          "remove_stream", ("self", "stream")),
    Needs("connection cycles", "libp2p.rcmgr.manager:ResourceManager.open_connection"),
    Needs("connection cycles", "libp2p.transport.upgrader:TransportUpgrader.upgrade_security",
          ("self", "raw_conn", "is_initiator", "peer_id")),
    Needs("yamux ping", f"{_YAMUX}:Yamux._write_frame", ("self", "data")),
    Needs("yamux ping", f"{_YAMUX}:Yamux._measure_rtt_loop", ("self",)),
    Needs("yamux ping", f"{_YAMUX}:TYPE_PING"),
    Needs("uncontended locks", f"{_YAMUX}:Yamux.__init__", ("self",)),
    Needs("uncontended locks", f"{_YAMUX}:YamuxStream.__init__", ("self", "stream_id", "conn")),
    Needs("uncontended locks", "libp2p.network.stream.net_stream:NetStream.__init__", ("self",)),
    Needs("uncontended locks", "libp2p.io.trio:TrioTCPStream.__init__", ("self", "stream")),
    Needs("yamux env", f"{_YAMUX}:_py_yamux_env", ("name", "default")),
    Needs("noise reads", "libp2p.security.noise.io:BaseNoiseMsgReadWriter.read_msg",
          ("self", "prefix_encoded")),
    Needs("noise reads", "libp2p.security.noise.io:NoiseTransportReadWriter.decrypt",
          ("self", "data")),
    Needs("noise reads", "libp2p.security.noise.io:NoisePacketReadWriter.size_len_bytes"),
    Needs("inbound connection task", "libp2p.network.connection.swarm_connection:SwarmConn."
          "start", ("self",)),
    Needs("inbound connection task", "libp2p.network.connection.swarm_connection:SwarmConn."
          "_handle_muxed_stream", ("self", "muxed_stream")),
    Needs("inbound connection task", f"{_YAMUX}:Yamux.handle_incoming", ("self",)),
    Needs("inbound connection task", "libp2p.network.stream.net_stream:StreamState.OPEN"),
    Needs("stream peer ids", "libp2p.rcmgr.manager:ResourceManager.acquire_stream",
          ("self", "peer_id", "direction")),
    Needs("stream peer ids", "libp2p.network.connection.swarm_connection:SwarmConn."
          "_handle_muxed_stream", ("self", "muxed_stream")),
)


@functools.cache
def check() -> None:
    """Once per process: the pinned py-libp2p, with every name our changes need."""
    _check(NEEDS)


def use_fast_path(host: Any) -> None:
    """The request path's speed-ups (benchmarks replace this to measure the bare stack)."""
    from adapters.libp2p.upstream.inbound_connection_task import (
        mark_started_without_accept_loop,
    )
    from adapters.libp2p.upstream.noise_reads import read_buffered_noise_messages
    from adapters.libp2p.upstream.pipelined_multiselect import use_pipelined_multiselect
    from adapters.libp2p.upstream.stream_notifications import notify_only_listening_notifees
    from adapters.libp2p.upstream.stream_peer_ids import parse_stream_peer_ids_once
    from adapters.libp2p.upstream.uncontended_locks import use_uncontended_locks
    from adapters.libp2p.upstream.yamux_env import read_yamux_env_once
    from adapters.libp2p.upstream.yamux_window import use_batched_window_yamux

    network = host.get_network()
    use_batched_window_yamux(network)  # window updates as go-yamux sends them
    use_pipelined_multiselect(host)  # a pipelined request is answered in one write
    notify_only_listening_notifees(network)
    use_uncontended_locks()  # process-wide: no scheduler pass for a free lock
    read_yamux_env_once()  # process-wide
    read_buffered_noise_messages()  # process-wide
    mark_started_without_accept_loop()  # process-wide
    parse_stream_peer_ids_once(network)


def apply(
    host: Any,
    *,
    max_inbound_connections: int,
    max_streams_per_connection: int,
    on_inbound_refused: Callable[[], None],
    outbound_connections: int = 128,
) -> None:
    """Every per-host change, after the check."""
    from adapters.libp2p.upstream.auto_dialer import disable_auto_dialer
    from adapters.libp2p.upstream.connection_cycles import free_connections_when_closed
    from adapters.libp2p.upstream.connection_limits import size_resource_manager
    from adapters.libp2p.upstream.inbound_slots import InboundConnectionSlots
    from adapters.libp2p.upstream.own_peer_record import keep_own_peer
    from adapters.libp2p.upstream.peer_records import accept_older_peer_records
    from adapters.libp2p.upstream.rate_limiter_memory import cap_rate_limiter_memory
    from adapters.libp2p.upstream.stream_slots import StreamSlots

    check()
    network = host.get_network()
    InboundConnectionSlots(max_inbound_connections, on_refused=on_inbound_refused).install(
        network
    )
    size_resource_manager(network, max_inbound_connections, outbound_connections)
    keep_own_peer(host, max_inbound_connections + outbound_connections)
    disable_auto_dialer(network)
    cap_rate_limiter_memory(network)
    free_connections_when_closed(network)
    accept_older_peer_records(host.get_peerstore())
    # Our listener's negotiation (the fast path) enforces it; the bare stack has none.
    host.registry_stream_slots = StreamSlots(max_streams_per_connection)
    use_fast_path(host)
