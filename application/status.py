"""The status use cases: an instance's view of itself and its cluster, locally or remotely."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from application.ports import RegistryMetrics, RegistryTransport
from domain.instance_status import (
    STATUS_PROTOCOL_ID,
    ClusterStatus,
    InstanceIdentity,
    InstanceStatus,
)
from domain.status_merge import with_each_members_own_figures
from domain.wire import MalformedMessage, decode, encode


class ClusterStatusSource(Protocol):
    async def cluster_status(self) -> ClusterStatus:
        """Raise StorageUnavailable when the instance's own member does not answer."""
        ...


async def instance_status(
    source: ClusterStatusSource, identity: InstanceIdentity
) -> InstanceStatus:
    return InstanceStatus.of(identity, await source.cluster_status())


class StatusRequestHandler:
    """Answers ``/status/0.1``: an empty request, the InstanceStatus as JSON."""

    def __init__(
        self,
        source: ClusterStatusSource,
        identity: Callable[[], InstanceIdentity],
        metrics: RegistryMetrics,
    ) -> None:
        self._source = source
        self._identity = identity  # known only once the node listens
        self._metrics = metrics

    async def handle(self, request: bytes, peer: str = "") -> bytes:
        started = time.perf_counter()
        outcome = "ok"
        try:
            if request.strip():
                raise MalformedMessage("a /status/0.1 request is empty")
            return encode(await instance_status(self._source, self._identity()))
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._metrics.observe_request("status", time.perf_counter() - started, outcome)


async def remote_status(transport: RegistryTransport) -> InstanceStatus:
    """The status of whichever registry-service the transport reaches."""
    return decode(await transport.request(STATUS_PROTOCOL_ID, b""), InstanceStatus)


async def every_members_status(
    transport: RegistryTransport,
    other_instances: Callable[[InstanceStatus], Awaitable[Sequence[InstanceStatus]]],
) -> InstanceStatus:
    """The status of the instance the transport reaches, with every other member's raft
    index and db size as that member's own instance answers them (``other_instances``
    gets the first answer, to skip its peer; instances that do not answer are left out)."""
    first = await remote_status(transport)
    return with_each_members_own_figures(first, await other_instances(first))
