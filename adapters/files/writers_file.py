"""A WriterList read from a --writers-file, re-read on demand (SIGHUP)."""

from __future__ import annotations

import logging
from pathlib import Path

from domain.writers import InvalidWritersList, parse_writers

log = logging.getLogger("registry-service")


class WritersFile:
    """Holds the last good list: a bad file on reload keeps the old one (and says why)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peer_ids = self._read()  # at start a bad file is fatal: raise

    def allows(self, peer_id: str) -> bool:
        return peer_id in self.peer_ids

    def reload(self) -> bool:
        """Re-read the file; on any problem keep the current list. Returns whether it changed."""
        try:
            fresh = self._read()
        except InvalidWritersList as exc:
            log.error("writers list not reloaded, keeping the old one (%d peers): %s",
                      len(self.peer_ids), exc)
            return False
        changed = fresh != self.peer_ids
        self.peer_ids = fresh
        log.info("writers list reloaded from %s: %d peers may write", self.path, len(fresh))
        return changed

    def _read(self) -> frozenset[str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidWritersList(f"cannot read the writers file {self.path}: {exc}") from exc
        return parse_writers(text, str(self.path))
