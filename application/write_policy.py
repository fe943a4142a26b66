"""Who may write: the writers list, applied to every write path (add and delete).

The peer id checked is the one the transport authenticated (Noise, in libp2p),
never one a request claims. Reads stay open to every member of the private
network, and so does /memberadd/0.1, which the passphrase alone guards.
"""

from __future__ import annotations

from typing import Protocol

from domain.write_refusal import not_a_writer_text


class WriterList(Protocol):
    """The peers allowed to write now (a list that may be reloaded at any time)."""

    def allows(self, peer_id: str) -> bool: ...


class WriteRefused(PermissionError):
    """A write from a peer that is not allowed to write."""

    def __init__(self, message: str, peer_id: str | None = None) -> None:
        super().__init__(message)
        self.peer_id = peer_id


class WritePolicy:
    """Without a writers list every peer may write, as in the Go original."""

    def __init__(self, writers: WriterList | None = None) -> None:
        self._writers = writers

    def check(self, peer_id: str | None) -> None:
        """Raise WriteRefused unless ``peer_id`` (authenticated) may write."""
        if self._writers is None:
            return
        if peer_id is None or not self._writers.allows(peer_id):
            raise WriteRefused(not_a_writer_text(peer_id), peer_id)

