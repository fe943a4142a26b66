"""One change of one record, at one etcd revision: what a watch delivers."""

from __future__ import annotations

import msgspec


class RecordChange(msgspec.Struct, frozen=True):
    """A PUT (``info_str`` set) or a DELETE (``info_str`` None) of ``name`` at ``revision``."""

    name: str
    info_str: str | None
    revision: int

    @property
    def size(self) -> int:
        """Rough bytes it takes to hold and send; bounds a watcher's buffer."""
        return 96 + len(self.name) + len(self.info_str or "")
