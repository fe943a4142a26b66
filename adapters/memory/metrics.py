"""RegistryMetrics that just records, for tests."""

from __future__ import annotations


class RecordingMetrics:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.storage_healthy: bool | None = None
        self.refused_writes: list[tuple[str, str]] = []
        self.etcd_down = False
        self.cluster: dict[str, int | bool] = {}

    def observe_request(self, operation: str, seconds: float, outcome: str) -> None:
        self.requests.append((operation, outcome))

    def set_storage_healthy(self, healthy: bool) -> None:
        self.storage_healthy = healthy

    def count_refused_write(self, operation: str, reason: str) -> None:
        self.refused_writes.append((operation, reason))

    def set_etcd_down(self) -> None:
        self.etcd_down = True

    def set_cluster_status(self, **figures: int | bool) -> None:
        self.etcd_down = False
        self.cluster = figures
