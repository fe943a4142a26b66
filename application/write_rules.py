"""What every write must satisfy, whichever protocol version carries it.

`/add/0.1`, `/delete/0.1`, `/add/0.2` and `/delete/0.2` all pass through here, so a
rule added here applies to all of them. Who may write (the writers list) is checked
before, by each handler's WritePolicy.
"""

from __future__ import annotations

from domain.record_rules import InvalidRecord, check_info_str
from domain.service_name import validate_service_name
from domain.write_refusal import invalid_record_text


def check_put(name: str, info_str: str) -> None:
    """Raise InvalidServiceName or InvalidRecord when ``name`` may not hold ``info_str``."""
    validate_service_name(name)
    try:
        check_info_str(info_str)  # nothing a Go client cannot read is stored
    except InvalidRecord as exc:
        raise InvalidRecord(invalid_record_text(name, str(exc))) from exc


def check_delete(name: str) -> None:
    validate_service_name(name)
