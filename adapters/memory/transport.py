"""A RegistryTransport that hands requests straight to a handler: the wire without I/O."""

from __future__ import annotations

from application.ports import RequestRejected
from application.server import RegistryRequestHandler
from domain.wire import PROTOCOL_IDS


class InMemoryRegistryTransport:
    def __init__(self, handler: RegistryRequestHandler, peer_id: str | None = None) -> None:
        self._handler = handler
        self.peer_id = peer_id  # who the handler is told it talks to

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        try:
            return await self._handler.handle(
                PROTOCOL_IDS[protocol_id], payload, self.peer_id
            )
        except Exception as exc:  # what a reset stream looks like to a client
            raise RequestRejected(f"{protocol_id} refused: {exc}") from exc
