"""Server-side handlers for the five protocol ids of the reference protocol."""

from __future__ import annotations

import time

from application.ports import ClusterMembership, RegistryMetrics, ServiceRepository
from domain.cluster import initial_cluster
from domain.service_name import validate_service_name
from domain.wire import (
    DELETED_TEXT,
    NOT_DELETED_TEXT,
    AddRequest,
    GetResponse,
    ListResponse,
    MemberAddRequest,
    Operation,
    added_text,
    decode,
    encode,
)


class RegistryRequestHandler:
    """Turns one request's bytes into the response bytes.

    Any exception means "reset the stream", as the Go original does on failure.
    """

    def __init__(
        self,
        repository: ServiceRepository,
        membership: ClusterMembership,
        metrics: RegistryMetrics,
    ) -> None:
        self._repository = repository
        self._membership = membership
        self._metrics = metrics
        self._handlers = {
            Operation.ADD: self._add,
            Operation.GET: self._get,
            Operation.LIST: self._list,
            Operation.DELETE: self._delete,
            Operation.MEMBER_ADD: self._member_add,
        }

    async def handle(self, operation: Operation, request: bytes) -> bytes:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._handlers[operation](request.strip())
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._metrics.observe_request(
                operation.value, time.perf_counter() - started, outcome
            )

    async def _add(self, request: bytes) -> bytes:
        add = decode(request, AddRequest)
        validate_service_name(add.name)
        await self._repository.put(add.name, add.info_str)
        return added_text(add.name, add.info_str).encode()

    async def _get(self, request: bytes) -> bytes:
        name = validate_service_name(request.decode("utf-8"))
        info_str = await self._repository.get(name)
        return encode(GetResponse(info_str=info_str or "", lookup_ok=info_str is not None))

    async def _list(self, request: bytes) -> bytes:
        entries = await self._repository.list()
        return encode(ListResponse(name_to_info_str=entries, lookup_ok=bool(entries)))

    async def _delete(self, request: bytes) -> bytes:
        name = validate_service_name(request.decode("utf-8"))
        deleted = await self._repository.delete(name)
        return (DELETED_TEXT if deleted else NOT_DELETED_TEXT).encode()

    async def _member_add(self, request: bytes) -> bytes:
        member = decode(request, MemberAddRequest)
        members = await self._membership.add_member(member.member_peer_url)
        return initial_cluster(members, new_name=member.member_name).encode()
