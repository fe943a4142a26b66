"""HTTP writes counted under the name of the token that made them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class PrometheusHttpWrites:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.writes = Counter(
            "registry_http_writes_total",
            "Writes over the HTTP API by token name, operation (add, delete) and outcome "
            "(ok, conflict, invalid, or an error class)",
            ["token", "operation", "outcome"],
            registry=registry,
        )

    def count_http_write(self, token: str, operation: str, outcome: str) -> None:
        self.writes.labels(token, operation, outcome).inc()
