"""Ports: what the use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from domain.cluster import EtcdMember


class StorageUnavailable(RuntimeError):
    """The store could not be reached or has no quorum; nothing was changed for sure."""


class ServiceRepository(Protocol):
    """Service name -> InfoStr, stored verbatim."""

    async def put(self, name: str, info_str: str) -> None: ...

    async def get(self, name: str) -> str | None: ...

    async def list(self) -> dict[str, str]: ...

    async def delete(self, name: str) -> int:
        """Return how many entries were deleted (0 or 1)."""
        ...


class ClusterMembership(Protocol):
    async def add_member(self, peer_url: str) -> list[EtcdMember]:
        """Add a member by peer URL; return every member afterwards (the new one unnamed)."""
        ...

    async def list_members(self) -> list[EtcdMember]: ...


class RegistryUnavailable(RuntimeError):
    """No registry-service could be reached or none answered."""


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


class ContentHasher(Protocol):
    """The content id (IPFS CIDv0, as `ipfs add` with kubo defaults) of a byte stream."""

    def content_id(self, chunks: Iterable[bytes]) -> str:
        """Consume ``chunks`` (any sizes) incrementally, in bounded memory."""
        ...
