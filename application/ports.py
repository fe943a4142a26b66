"""Ports: what the use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from domain.cluster import EtcdMember

# Waits that many seconds (trio.sleep in production, instant in unit tests).
Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


class StorageUnavailable(RuntimeError):
    """The store could not be reached or has no quorum.

    A write that timed out may still have been applied (etcd may commit it
    after our deadline), so a caller must not assume that nothing changed.
    """


class NoQuorum(StorageUnavailable):
    """The registry's cluster has lost its majority: writes fail, reads may be stale."""


class StaleReadWarning(UserWarning):
    """A read answered from one member's own copy while the cluster had no quorum."""


class ServiceRepository(Protocol):
    """Service name -> InfoStr, stored verbatim."""

    async def put(self, name: str, info_str: str) -> None: ...

    async def get(self, name: str) -> str | None: ...

    async def list(self) -> dict[str, str]: ...

    async def delete(self, name: str) -> int:
        """Return how many entries were deleted (0 or 1)."""
        ...


class LocalServiceReader(Protocol):
    """Reads from this instance's own copy without asking for quorum: may be stale."""

    async def get(self, name: str) -> str | None: ...

    async def list(self) -> dict[str, str]: ...


class ClusterMembership(Protocol):
    async def add_member(self, peer_url: str, *, learner: bool = False) -> list[EtcdMember]:
        """Add a member by peer URL; return every member afterwards (the new one unnamed)."""
        ...

    async def list_members(self) -> list[EtcdMember]:
        """This member's view; answered even without quorum."""
        ...

    async def remove_member(self, member_id: int) -> list[EtcdMember]: ...

    async def promote_member(self, member_id: int) -> list[EtcdMember]:
        """Make a learner a voting member; refused until it has caught up."""
        ...

    async def member_is_up(self, member: EtcdMember) -> bool:
        """Whether that member's store process answers (never raises)."""
        ...


class RegistryUnavailable(RuntimeError):
    """No registry-service could be reached or none answered."""


class NoProvider(RegistryUnavailable):
    """Nobody provides 'registry-service': none reachable, none advertised."""


class ProtocolNotSpoken(RegistryUnavailable):
    """The registry-services found do not speak the protocol asked for (older versions)."""


class RequestRejected(RuntimeError):
    """A registry-service received the request and refused it (reset the stream)."""


class RegistryTransport(Protocol):
    """Client side: send one request to some registry-service, get its response."""

    async def request(self, protocol_id: str, payload: bytes) -> bytes: ...


class RegistryMetrics(Protocol):
    def observe_request(self, operation: str, seconds: float, outcome: str) -> None:
        """``outcome`` is ``ok`` or an error class name."""
        ...

    def set_storage_healthy(self, healthy: bool) -> None: ...

    def count_refused_write(self, operation: str, reason: str) -> None:
        """A write answered with an ``Error:`` text: not a writer, or an invalid record."""
        ...


class ContentHasher(Protocol):
    """The content id (IPFS CIDv0, as `ipfs add` with kubo defaults) of a byte stream."""

    def content_id(self, chunks: Iterable[bytes]) -> str:
        """Consume ``chunks`` (any sizes) incrementally, in bounded memory."""
        ...
