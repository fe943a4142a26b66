"""What every write must satisfy, whichever protocol version carries it.

`/add/0.1`, `/delete/0.1`, `/add/0.2` and `/delete/0.2` all pass through here, so a
rule added here (validation, who may write) applies to all of them.
"""

from __future__ import annotations

from domain.service_name import validate_service_name


def check_put(name: str, info_str: str) -> None:
    """Raise a ValueError subclass when ``name`` may not be stored with ``info_str``."""
    validate_service_name(name)


def check_delete(name: str) -> None:
    validate_service_name(name)
