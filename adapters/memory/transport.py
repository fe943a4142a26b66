"""A RegistryTransport that hands requests straight to a handler: the wire without I/O."""

from __future__ import annotations

from application.ports import RequestRejected
from application.server import RegistryRequestHandler
from domain.wire import PROTOCOL_IDS


class InMemoryRegistryTransport:
    def __init__(self, handler: RegistryRequestHandler) -> None:
        self._handler = handler

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        try:
            return await self._handler.handle(PROTOCOL_IDS[protocol_id], payload)
        except Exception as exc:  # what a reset stream looks like to a client
            raise RequestRejected(f"{protocol_id} refused: {exc}") from exc
