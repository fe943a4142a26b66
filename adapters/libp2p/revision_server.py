"""Serves `/get/0.2`, `/add/0.2` and `/delete/0.2` on a libp2p host (framing as in 0.1)."""

from __future__ import annotations

import functools

from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol

from adapters.libp2p.request_stream import answer_one_request
from application.conditional_write import RevisionRequestHandler
from domain.wire import MAX_REQUEST_BYTES


class Libp2pRevisionServer:
    def __init__(
        self,
        handler: RevisionRequestHandler,
        *,
        request_timeout: float = 10.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self._handler = handler
        self._timeout = request_timeout
        self._max_request = max_request_bytes

    @property
    def protocol_ids(self) -> list[str]:
        return list(self._handler.handlers)

    def attach(self, host: IHost) -> None:
        for protocol_id in self.protocol_ids:
            host.set_stream_handler(
                TProtocol(protocol_id), functools.partial(self._serve, protocol_id)
            )

    async def _serve(self, protocol_id: str, stream: INetStream) -> None:
        await answer_one_request(
            stream,
            functools.partial(self._handler.handle, protocol_id),
            label=protocol_id,
            timeout=self._timeout,
            max_request=self._max_request,
        )
