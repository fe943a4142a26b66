"""Serves the reference protocol's five protocol ids, and our own beside them, on a libp2p host."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol

from adapters.libp2p.request_stream import answer_one_request
from application.server import RegistryRequestHandler
from domain.wire import MAX_REQUEST_BYTES, Operation

log = logging.getLogger(__name__)

# `/list/0.1` answers made and written at once; more wait their turn (within the request
# timeout). Each is the whole registry in one JSON object: at 100 000 records ~80 MB of
# the daemon's memory while it is made, 38 MB while it is written; 10 at once took it up
# 0.6-0.8 GB, 30 at once 1.8-2.3 GB (docs/performance.md, "scale_lists.py"). `/list/0.2`
# pages are small.
LISTS_AT_ONCE = 2

# (request, the peer id the transport authenticated) -> answer
Handle = Callable[[bytes, str], Awaitable[bytes]]


class Libp2pRegistryServer:
    """One request per stream: read to EOF, answer, close; on any failure, reset.

    Resetting is how the Go original reports a failed request; the daemon keeps
    serving whatever one stream sends.
    """

    def __init__(
        self,
        handler: RegistryRequestHandler,
        *,
        request_timeout: float = 10.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        extra: Mapping[str, Handle] | None = None,
    ) -> None:
        self._handler = handler
        self._timeout = request_timeout
        self._max_request = max_request_bytes
        # Our own protocols beside the original five: protocol id -> handler.
        self._handles: dict[str, Handle] = {
            op.protocol_id: functools.partial(handler.handle, op) for op in Operation
        }
        self._handles.update(extra or {})
        self._turns = {Operation.LIST.protocol_id: trio.Semaphore(LISTS_AT_ONCE)}

    def attach(self, host: IHost) -> None:
        for protocol_id, handle in self._handles.items():
            host.set_stream_handler(
                TProtocol(protocol_id), functools.partial(self._serve, protocol_id, handle)
            )

    def detach(self, host: IHost) -> None:
        """Stop taking requests (clients then go to another instance)."""
        for protocol_id in self._handles:
            try:
                host.remove_stream_handler(TProtocol(protocol_id))
            except Exception as exc:  # never let this stop the shutdown
                log.debug("removing the %s handler: %r", protocol_id, exc)

    async def _serve(self, protocol_id: str, handle: Handle, stream: INetStream) -> None:
        await answer_one_request(
            stream, handle, label=protocol_id, timeout=self._timeout,
            max_request=self._max_request, turns=self._turns.get(protocol_id),
        )
