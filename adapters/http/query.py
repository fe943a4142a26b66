"""Query parameters of the HTTP API: blocking-query index and wait, cas, names."""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_WAIT = 300.0  # as Consul: 5 min by default,
MAX_WAIT = 600.0  # and at most 10 min
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message names it."""


def non_negative_int(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BadQuery(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def wait_seconds(value: str | None) -> float:
    """A Consul-style duration (``30s``, ``5m``, ``250ms``; a bare number is seconds)."""
    if value is None:
        return DEFAULT_WAIT
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise BadQuery(f"wait must be a duration such as 30s, 5m or 250ms, got {value!r}")
    return min(float(match.group(1)) * _UNIT[match.group(2)], MAX_WAIT)


def names_list(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [n for n in value.split(",") if n]
