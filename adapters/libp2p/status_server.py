"""Serves ``/status/0.1`` on a libp2p host, framed like the reference protocol."""

from __future__ import annotations

from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol

from adapters.libp2p.registry_server import answer_stream
from application.status import StatusRequestHandler
from domain.instance_status import STATUS_PROTOCOL_ID


class Libp2pStatusServer:
    def __init__(self, handler: StatusRequestHandler, *, request_timeout: float = 10.0) -> None:
        self._handler = handler
        self._timeout = request_timeout

    def attach(self, host: IHost) -> None:
        host.set_stream_handler(TProtocol(STATUS_PROTOCOL_ID), self._serve)

    async def _serve(self, stream: INetStream) -> None:
        await answer_stream(
            stream, self._handler.handle, label=STATUS_PROTOCOL_ID, timeout=self._timeout
        )
