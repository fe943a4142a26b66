"""The HTTP tokens file: NAME ROLE sha256(token) per line; only hashes, never tokens.

Read at start (a bad file stops the start) and on SIGHUP (a bad file keeps the
tokens in force and logs why, as the writers file does). Changes are written to
a new file with mode 0600 and renamed over the old one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from domain.http_token import TokenEntry, TokenFileError, parse_tokens, render_tokens

log = logging.getLogger(__name__)


class HttpTokensFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries = self._read()

    def _read(self) -> dict[str, TokenEntry]:
        try:
            text = self.path.read_text("utf-8")
        except OSError as exc:
            raise TokenFileError(f"cannot read the HTTP tokens file {self.path}: {exc}") from exc
        return parse_tokens(text, str(self.path))

    @property
    def entries(self) -> list[TokenEntry]:
        return list(self._entries.values())

    def find(self, digest: str) -> TokenEntry | None:
        return self._entries.get(digest)

    def reload(self) -> None:
        try:
            self._entries = self._read()
        except TokenFileError as exc:
            log.error("HTTP tokens not reloaded, the old ones stay in force: %s", exc)
            return
        log.info("HTTP tokens reloaded from %s: %d tokens", self.path, len(self._entries))


def load_entries(path: Path) -> list[TokenEntry]:
    """The entries of ``path``; none when it does not exist yet."""
    if not path.exists():
        return []
    return list(parse_tokens(path.read_text("utf-8"), str(path)).values())


def save_entries(path: Path, entries: list[TokenEntry]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render_tokens(entries))
    tmp.replace(path)
