"""A ClusterStatusSource that returns what a test sets, for the status use cases."""

from __future__ import annotations

from application.ports import StorageUnavailable
from domain.instance_status import ClusterStatus


class FixedClusterStatusSource:
    def __init__(self, status: ClusterStatus | None) -> None:
        self.status = status  # None: the local member does not answer

    async def cluster_status(self) -> ClusterStatus:
        if self.status is None:
            raise StorageUnavailable("etcd at http://127.0.0.1:2379: connection refused")
        return self.status

    def close(self) -> None:
        """Nothing to release (the etcd source closes its connection)."""
