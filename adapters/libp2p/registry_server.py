"""Serves the reference protocol's five protocol ids on a libp2p host."""

from __future__ import annotations

import functools

from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol

from adapters.libp2p.request_stream import answer_one_request
from application.server import RegistryRequestHandler
from domain.wire import MAX_REQUEST_BYTES, Operation


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
        await answer_one_request(
            stream,
            functools.partial(self._handler.handle, operation),
            label=str(operation),
            timeout=self._timeout,
            max_request=self._max_request,
        )
