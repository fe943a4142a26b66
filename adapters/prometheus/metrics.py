"""RegistryMetrics on prometheus-client, served at /metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from application.membership_deferred import RETRY_OUTCOME

# Loopback requests take ~1-5 ms; etcd under load or a slow disk, up to seconds.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class PrometheusRegistryMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "registry_requests", "Requests handled, by operation and outcome",
            ["operation", "outcome"], registry=self.registry,
        )
        self.errors = Counter(
            "registry_request_errors", "Requests that failed (stream reset), by operation",
            ["operation"], registry=self.registry,
        )
        self.refused_writes = Counter(
            "registry_refused_writes",
            "Writes answered with an Error: text, by operation and reason (WriteRefused: "
            "the peer is not in the writers list; InvalidRecord: an InfoStr Go cannot decode)",
            ["operation", "reason"], registry=self.registry,
        )
        self.latency = Histogram(
            "registry_request_duration_seconds", "Time to handle one request",
            ["operation"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self._request_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.storage_healthy = Gauge(
            "registry_etcd_healthy",
            "1 when the local etcd member serves up-to-date reads (it has quorum) without alarms",
            registry=self.registry,
        )
        self.cluster_members = Gauge(
            "registry_etcd_cluster_members",
            "Members in the etcd cluster, as this member sees it (learners included)",
            registry=self.registry,
        )
        self.started_members = Gauge(
            "registry_etcd_started_members",
            "Cluster members whose etcd has started at least once (added ones not yet)",
            registry=self.registry,
        )
        self.learners = Gauge(
            "registry_etcd_learners", "Non-voting members still catching up",
            registry=self.registry,
        )
        self.has_leader = Gauge(
            "registry_etcd_has_leader", "1 when this instance's etcd member knows a leader",
            registry=self.registry,
        )
        self.is_leader = Gauge(
            "registry_etcd_is_leader", "1 when this instance's etcd member leads the cluster",
            registry=self.registry,
        )
        self.etcd_up = Gauge(
            "registry_etcd_up", "1 while this instance's etcd process answers at all",
            registry=self.registry,
        )

    def observe_request(self, operation: str, seconds: float, outcome: str) -> None:
        # `labels()` takes a lock and builds a key per call (~2 % of a busy daemon's CPU);
        # the children of the few (operation, outcome) pairs are kept instead.
        children = self._request_children.get((operation, outcome))
        if children is None:
            children = self._request_children[operation, outcome] = (
                self.requests.labels(operation, outcome), self.latency.labels(operation))
        children[0].inc()
        # Refusals are answered, not reset; "retry" is etcd putting a member add off,
        # which every normal join meets (application.membership_deferred).
        if outcome not in ("ok", "refused", RETRY_OUTCOME):
            self.errors.labels(operation).inc()
        children[1].observe(seconds)

    def count_refused_write(self, operation: str, reason: str) -> None:
        self.refused_writes.labels(operation, reason).inc()

    def set_storage_healthy(self, healthy: bool) -> None:
        self.storage_healthy.set(1 if healthy else 0)

    def set_cluster_status(
        self,
        *,
        members: int,
        started_members: int,
        learners: int,
        has_leader: bool,
        is_leader: bool,
    ) -> None:
        self.etcd_up.set(1)
        self.cluster_members.set(members)
        self.started_members.set(started_members)
        self.learners.set(learners)
        self.has_leader.set(1 if has_leader else 0)
        self.is_leader.set(1 if is_leader else 0)

    def set_etcd_down(self) -> None:
        """The local member does not answer: nothing it would say is known."""
        self.etcd_up.set(0)
        self.storage_healthy.set(0)
        self.has_leader.set(0)
        self.is_leader.set(0)

    def observe_peer_state(self, figures: Callable[[], Mapping[str, int]]) -> None:
        """Export the libp2p node's figures (``Libp2pNode.figures``) at every scrape."""
        self.registry.register(_PeerStateCollector(figures))

    def observe_watches(
        self,
        watchers: Callable[[], int],
        events_sent: Callable[[], Mapping[str, int]],
        dropped_behind: Callable[[], int],
        refused: Callable[[], int] = lambda: 0,
    ) -> None:
        """Export the watch figures (open, events sent, dropped, refused) at every scrape."""
        from adapters.prometheus.watch_metrics import register_watch_metrics

        register_watch_metrics(self.registry, watchers, events_sent, dropped_behind, refused)

    def serve(self, listen: str) -> tuple[str, int]:
        """Serve /metrics on ``host:port`` (``:9102`` = all interfaces); returns the address."""
        host, port = parse_listen_addr(listen)
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        bound_host, bound_port = server.server_address[:2]
        return str(bound_host), int(bound_port)


# figure name -> (metric name, help); refused_connections only grows: a counter.
_PEER_STATE = {
    "connections": ("registry_libp2p_connections", "Open libp2p connections, both ways"),
    "inbound_connections": (
        "registry_libp2p_inbound_connections",
        "Inbound libp2p connections holding a slot (limit: --max-inbound-connections)",
    ),
    "peerstore_peers": (
        "registry_libp2p_peerstore_peers", "Peers the libp2p peerstore holds data of"
    ),
    "routing_table_peers": (
        "registry_libp2p_routing_table_peers", "Peers in the Kademlia routing table"
    ),
}


class _PeerStateCollector(Collector):
    def __init__(self, figures: Callable[[], Mapping[str, int]]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self._figures()
        except Exception:  # the node is stopping: no figures this scrape
            return
        for key, (name, help_text) in _PEER_STATE.items():
            yield GaugeMetricFamily(name, help_text, value=figures.get(key, 0))
        yield CounterMetricFamily(
            "registry_libp2p_refused_connections",
            "Inbound connections refused at the limit (--max-inbound-connections)",
            value=figures.get("refused_connections", 0),
        )
        yield CounterMetricFamily(
            "registry_libp2p_refused_streams",
            "Streams refused at the per-connection limit (--max-streams-per-connection)",
            value=figures.get("refused_streams", 0),
        )


def parse_listen_addr(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--prom-listen-addr {listen!r} is not [host]:port")
    return (host.strip("[]") or "0.0.0.0"), int(port)
