"""Reading the JSON progress messages the engine streams for build, push and pull.

Failures of a push or pull often arrive *inside* an HTTP 200 stream as
``{"error": ..., "errorDetail": {...}}``; they must be turned into exceptions
or they would pass silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_DIGEST_IN_STATUS = re.compile(r"(?:digest|Digest): (sha256:[0-9a-f]{64})")

# Texts registries and the engine use when credentials are missing or wrong.
_AUTH_FAILURE_MARKERS = (
    "unauthorized",
    "authentication required",
    "no basic auth credentials",
    "denied: requested access to the resource is denied",
    "incorrect username or password",
)


def error_of(message: Mapping[str, Any]) -> str | None:
    """The error text of a stream message, or None when it reports no error."""
    detail = message.get("errorDetail")
    if isinstance(detail, Mapping) and detail.get("message"):
        return str(detail["message"])
    if message.get("error"):
        return str(message["error"])
    return None


def is_auth_failure(error: str) -> bool:
    text = error.lower()
    return any(marker in text for marker in _AUTH_FAILURE_MARKERS)


def digest_of(message: Mapping[str, Any]) -> str | None:
    """The manifest digest a push (``aux.Digest``) or pull (``Digest: ...``) reports."""
    aux = message.get("aux")
    if isinstance(aux, Mapping) and isinstance(aux.get("Digest"), str):
        return str(aux["Digest"])
    match = _DIGEST_IN_STATUS.search(str(message.get("status", "")))
    return match.group(1) if match else None


class LayerProgress:
    """Sums per-layer ``progressDetail`` into one byte count (for one progress bar)."""

    def __init__(self) -> None:
        self._current: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def update(self, message: Mapping[str, Any]) -> bool:
        """Take in one message; True when the totals changed."""
        layer = message.get("id")
        detail = message.get("progressDetail")
        if not isinstance(layer, str) or not isinstance(detail, Mapping):
            return False
        current, total = detail.get("current"), detail.get("total")
        if not isinstance(current, int) or not isinstance(total, int) or total <= 0:
            return False
        self._current[layer] = min(current, total)
        self._total[layer] = total
        return True

    @property
    def current(self) -> int:
        return sum(self._current.values())

    @property
    def total(self) -> int:
        return sum(self._total.values())
