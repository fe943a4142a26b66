"""In-memory HTTP parts for unit tests: a token store and a write counter."""

from __future__ import annotations

from collections import Counter

from domain.http_token import TokenEntry, TokenRole, token_digest


class MemoryTokens:
    def __init__(self) -> None:
        self._entries: dict[str, TokenEntry] = {}

    def add(self, name: str, role: TokenRole, token: str) -> None:
        entry = TokenEntry(name, role, token_digest(token))
        self._entries[entry.digest] = entry

    def remove(self, name: str) -> None:
        self._entries = {d: e for d, e in self._entries.items() if e.name != name}

    def find(self, digest: str) -> TokenEntry | None:
        return self._entries.get(digest)


class MemoryHttpWrites:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def count_http_write(self, token: str, operation: str, outcome: str) -> None:
        self.counts[(token, operation, outcome)] += 1


class ListingStore:
    """An InMemoryRevisionedStore (or anything with ``entries``) that also lists."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def list(self) -> dict[str, str]:
        entries: dict[str, tuple[str, int]] = self._store.entries  # type: ignore[attr-defined]
        return {name: entry[0] for name, entry in sorted(entries.items())}
