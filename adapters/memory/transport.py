"""A RegistryTransport that hands requests straight to a handler: the wire without I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from application.ports import ProtocolNotSpoken, RequestRejected
from application.server import RegistryRequestHandler
from domain.wire import PROTOCOL_IDS


class InMemoryRegistryTransport:
    """``extra``: our own protocols beside the original five (protocol id -> handler)."""

    def __init__(
        self,
        handler: RegistryRequestHandler,
        peer_id: str | None = None,
        extra: Mapping[str, Callable[[bytes, str | None], Awaitable[bytes]]] | None = None,
    ) -> None:
        self._handler = handler
        self.peer_id = peer_id  # who the handler is told it talks to
        self._extra = dict(extra or {})

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        operation = PROTOCOL_IDS.get(protocol_id)
        if operation is None and protocol_id not in self._extra:
            raise ProtocolNotSpoken(f"the registry-service does not speak {protocol_id}")
        try:
            if operation is None:
                return await self._extra[protocol_id](payload, self.peer_id)
            return await self._handler.handle(operation, payload, self.peer_id)
        except Exception as exc:  # what a reset stream looks like to a client
            raise RequestRejected(f"{protocol_id} refused: {exc}") from exc
