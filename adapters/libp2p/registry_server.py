"""Serves the reference protocol's five protocol ids on a libp2p host."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol

from adapters.libp2p.stream_io import read_to_end
from application.server import RegistryRequestHandler
from domain.wire import MAX_REQUEST_BYTES, Operation

log = logging.getLogger(__name__)


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
    ) -> None:
        self._handler = handler
        self._timeout = request_timeout
        self._max_request = max_request_bytes

    def attach(self, host: IHost) -> None:
        for operation in Operation:
            host.set_stream_handler(
                TProtocol(operation.protocol_id), functools.partial(self._serve, operation)
            )

    async def _serve(self, operation: Operation, stream: INetStream) -> None:
        await answer_stream(
            stream,
            functools.partial(self._handler.handle, operation),
            label=str(operation),
            timeout=self._timeout,
            max_request_bytes=self._max_request,
        )


async def answer_stream(
    stream: INetStream,
    answer: Callable[[bytes, str], Awaitable[bytes]],
    *,
    label: str,
    timeout: float,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> None:
    """Read the request to EOF, write ``answer(request, peer id)``, close; on failure, reset.

    The peer id is the one Noise authenticated (a write policy's only input).
    """
    peer = stream.muxed_conn.peer_id
    try:
        with trio.fail_after(timeout):
            request = await read_to_end(stream, max_request_bytes)
            response = await answer(request, str(peer))
            await stream.write(response)
            await stream.close()
    except Exception as exc:  # one bad request must never take the daemon down
        reason = "timed out" if isinstance(exc, trio.TooSlowError) else repr(exc)
        log.warning("%s from %s failed: %s; resetting the stream", label, peer, reason)
        await _reset_quietly(stream)


async def _reset_quietly(stream: INetStream) -> None:
    try:
        await stream.reset()
    except Exception as exc:
        log.debug("reset failed: %r", exc)
