"""Server-side handlers for the five protocol ids of the reference protocol."""

from __future__ import annotations

import time

from application.cluster.admit import admit_member
from application.cluster.quorum import QuorumStatus
from application.membership_deferred import request_outcome
from application.ports import (
    ClusterMembership,
    LocalServiceReader,
    RegistryMetrics,
    ServiceRepository,
)
from application.storage_guard import StorageGuard
from application.write_policy import WritePolicy, WriteRefused
from application.write_rules import check_delete, check_put
from domain.record_rules import InvalidRecord, split_readable
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

    A refused write (writers list, invalid record) is answered with an ``Error:``
    text; any other exception means "reset the stream", as the Go original does.
    """

    def __init__(
        self,
        repository: ServiceRepository,
        membership: ClusterMembership,
        metrics: RegistryMetrics,
        local_reads: LocalServiceReader | None = None,
        quorum: QuorumStatus | None = None,
        write_policy: WritePolicy | None = None,
    ) -> None:
        self._repository = repository
        # Without quorum, reads fall back to this member's own copy, marked stale.
        self._local_reads = local_reads
        self._quorum = quorum or QuorumStatus()
        self._guard = StorageGuard(self._quorum, local_reads=local_reads is not None)
        self._membership = membership
        self._metrics = metrics
        self._policy = write_policy or WritePolicy()
        # Every write goes through the write policy first (see _dispatch).
        self._writes = {Operation.ADD: self._add, Operation.DELETE: self._delete}
        self._reads = {
            Operation.GET: self._get,
            Operation.LIST: self._list,
            Operation.MEMBER_ADD: self._member_add,
        }

    async def handle(
        self, operation: Operation, request: bytes, peer_id: str | None = None
    ) -> bytes:
        """``peer_id``: the remote peer as the transport authenticated it."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._dispatch(operation, request.strip(), peer_id)
        except (WriteRefused, InvalidRecord) as exc:
            # Answered, not reset: a Go client prints the text, ours raises on it.
            outcome = "refused"
            self._metrics.count_refused_write(operation.value, type(exc).__name__)
            return str(exc).encode()
        except Exception as exc:
            outcome = request_outcome(exc)
            raise
        finally:
            self._metrics.observe_request(
                operation.value, time.perf_counter() - started, outcome
            )

    async def _dispatch(self, operation: Operation, request: bytes, peer_id: str | None) -> bytes:
        write = self._writes.get(operation)
        if write is None:
            return await self._reads[operation](request)
        self._policy.check(peer_id)
        return await write(request)

    async def _add(self, request: bytes) -> bytes:
        add = decode(request, AddRequest)
        check_put(add.name, add.info_str)
        await self._guard.write(self._repository.put(add.name, add.info_str))
        return added_text(add.name, add.info_str).encode()

    async def _get(self, request: bytes) -> bytes:
        name = validate_service_name(request.decode("utf-8"))
        local = self._local_reads
        info_str, stale = await self._guard.read(
            lambda: self._repository.get(name), None if local is None else lambda: local.get(name)
        )
        return encode(
            GetResponse(info_str=info_str or "", lookup_ok=info_str is not None, stale=stale)
        )

    async def _list(self, request: bytes) -> bytes:
        local = self._local_reads
        entries, stale = await self._guard.read(
            self._repository.list, None if local is None else local.list
        )
        # Go's list client fails whole on one record it cannot decode: hand on only the
        # readable ones and name the others (docs/protocol.md).
        readable, unreadable = split_readable(entries or {})
        return encode(
            ListResponse(name_to_info_str=readable, lookup_ok=bool(readable), stale=stale,
                         unreadable=unreadable or None)
        )

    async def _delete(self, request: bytes) -> bytes:
        name = request.decode("utf-8")
        check_delete(name)
        deleted = await self._guard.write(self._repository.delete(name))
        return (DELETED_TEXT if deleted else NOT_DELETED_TEXT).encode()

    async def _member_add(self, request: bytes) -> bytes:
        member = decode(request, MemberAddRequest)
        cluster = await admit_member(self._membership, member.member_name, member.member_peer_url)
        return cluster.encode()

