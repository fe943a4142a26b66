"""Serving `/get/0.2`, `/add/0.2` and `/delete/0.2`: records with revisions, conditional writes.

The check and the write are one atomic step in the store (an etcd transaction),
so of two writers holding the same revision exactly one succeeds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping

from application.cluster.quorum import QuorumStatus
from application.ports import RegistryMetrics
from application.storage_guard import StorageGuard
from application.watch_ports import RevisionedRepository
from application.write_policy import WritePolicy, WriteRefused
from application.write_rules import check_delete, check_put
from domain.record_rules import InvalidRecord
from domain.revision_wire import (
    ADD_IF_PROTOCOL,
    DELETE_IF_PROTOCOL,
    GET_REVISION_PROTOCOL,
    AddIfRequest,
    DeleteIfRequest,
    GetRevisionResponse,
    WriteOutcome,
    WriteResult,
    condition_failed_text,
)
from domain.service_name import validate_service_name
from domain.wire import decode, encode

# Metrics count these as the operations they are, whichever protocol version carried them.
_OPERATION = {GET_REVISION_PROTOCOL: "get", ADD_IF_PROTOCOL: "add", DELETE_IF_PROTOCOL: "delete"}


class RevisionRequestHandler:
    """Turns one request's bytes into the answer's bytes; any exception resets the stream."""

    def __init__(
        self,
        repository: RevisionedRepository,
        metrics: RegistryMetrics,
        local_reads: RevisionedRepository | None = None,
        quorum: QuorumStatus | None = None,
        write_policy: WritePolicy | None = None,
    ) -> None:
        self._repository = repository
        self._policy = write_policy or WritePolicy()
        self._local_reads = local_reads
        self._guard = StorageGuard(quorum or QuorumStatus(), local_reads=local_reads is not None)
        self._metrics = metrics
        self.handlers: dict[str, Callable[[bytes], Awaitable[bytes]]] = {
            GET_REVISION_PROTOCOL: self._get,
            ADD_IF_PROTOCOL: self._add,
            DELETE_IF_PROTOCOL: self._delete,
        }
        self._writes = {ADD_IF_PROTOCOL, DELETE_IF_PROTOCOL}

    @property
    def protocol_handles(self) -> Mapping[str, Callable[[bytes, str], Awaitable[bytes]]]:
        """protocol id -> its (request, authenticated peer id) -> answer, for the server."""
        return {protocol_id: functools.partial(self.handle, protocol_id)
                for protocol_id in self.handlers}

    async def handle(self, protocol_id: str, request: bytes, peer_id: str | None = None) -> bytes:
        """``peer_id``: the remote peer as the transport authenticated it."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            if protocol_id in self._writes:
                self._policy.check(peer_id)  # the same writers list as the 0.1 writes
            return await self.handlers[protocol_id](request.strip())
        except (WriteRefused, InvalidRecord) as exc:
            # Answered, not reset, as the 0.1 writes do; the client tells it from a conflict.
            outcome = "refused"
            self._metrics.count_refused_write(_OPERATION[protocol_id], type(exc).__name__)
            return encode(WriteResult(ok=False, revision=0, error=str(exc), refused=True))
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._metrics.observe_request(
                _OPERATION[protocol_id], time.perf_counter() - started, outcome
            )

    async def _get(self, request: bytes) -> bytes:
        name = validate_service_name(request.decode("utf-8"))
        local = self._local_reads
        (info_str, revision), stale = await self._guard.read(
            lambda: self._repository.get_with_revision(name),
            None if local is None else lambda: local.get_with_revision(name),
        )
        return encode(
            GetRevisionResponse(
                info_str=info_str or "",
                lookup_ok=info_str is not None,
                revision=revision,
                stale=stale,
            )
        )

    async def _add(self, request: bytes) -> bytes:
        add = decode(request, AddIfRequest)
        check_put(add.name, add.info_str)
        outcome = await self._guard.write(
            self._repository.put_if(add.name, add.info_str, add.if_revision)
        )
        return encode(_result(add.name, add.if_revision, outcome, deleted=None))

    async def _delete(self, request: bytes) -> bytes:
        delete = decode(request, DeleteIfRequest)
        check_delete(delete.name)
        outcome = await self._guard.write(
            self._repository.delete_if(delete.name, delete.if_revision)
        )
        return encode(_result(delete.name, delete.if_revision, outcome, deleted=outcome.deleted))


def _result(
    name: str, if_revision: int | None, outcome: WriteOutcome, *, deleted: int | None
) -> WriteResult:
    if outcome.ok:
        return WriteResult(ok=True, revision=outcome.revision, deleted=deleted)
    assert if_revision is not None  # only a condition can fail
    return WriteResult(
        ok=False,
        revision=outcome.revision,
        error=condition_failed_text(name, if_revision, outcome.revision),
    )
