"""A RegistryTransport whose requests all end by one deadline (the join's)."""

from __future__ import annotations

import trio

from application.ports import RegistryTransport, RegistryUnavailable


class DeadlineTransport:
    """Requests through ``inner``, each cut off at ``deadline`` (trio's clock).

    A request cut off says what the last failed one did: the reason the caller is
    still asking (an unreachable bootstrap, another private network), not merely
    that time ran out.
    """

    def __init__(self, inner: RegistryTransport, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline
        self._last_failure = ""

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        with trio.move_on_at(self._deadline):
            try:
                return await self._inner.request(protocol_id, payload)
            except RegistryUnavailable as exc:  # NoProvider too
                self._last_failure = str(exc)
                raise
        raise RegistryUnavailable(
            self._last_failure or f"no registry-service answered {protocol_id} in time"
        )
