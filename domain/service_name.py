"""Rules for service names, the registry's keys."""

from __future__ import annotations

import unicodedata

MAX_SERVICE_NAME_BYTES = 256


class InvalidServiceName(ValueError):
    """A service name the registry refuses to store or look up."""


def validate_service_name(name: str) -> str:
    """Return ``name`` if it is a usable key, else raise InvalidServiceName."""
    if not name:
        raise InvalidServiceName("service name must not be empty")
    if name != name.strip():
        raise InvalidServiceName(
            f"service name {name!r} has surrounding white space "
            "(the wire protocol trims it, so it could never be found)"
        )
    # Printable ASCII (nearly every name) has none of those categories: no scan.
    if not (name.isascii() and name.isprintable()) and any(
        unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name
    ):
        raise InvalidServiceName(f"service name {name!r} contains control characters")
    size = len(name.encode("utf-8"))
    if size > MAX_SERVICE_NAME_BYTES:
        raise InvalidServiceName(
            f"service name is {size} bytes long; the limit is {MAX_SERVICE_NAME_BYTES}"
        )
    return name
