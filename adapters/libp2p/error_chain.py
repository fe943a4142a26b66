"""Every exception in a failure as py-libp2p and trio wrap it (groups, causes, contexts)."""

from __future__ import annotations

from collections.abc import Iterator

from libp2p.exceptions import MultiError


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and, once each, every exception inside or behind it."""
    yield from _walk(exc, set())


def _walk(exc: BaseException | None, seen: set[int]) -> Iterator[BaseException]:
    if exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    yield exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _walk(inner, seen)
    if isinstance(exc, MultiError):
        for inner in exc.errors:
            yield from _walk(inner, seen)
    yield from _walk(exc.__cause__, seen)
    yield from _walk(exc.__context__, seen)
