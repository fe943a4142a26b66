"""Wire shapes of our revisioned `/get/0.2`, `/add/0.2` and `/delete/0.2`.

The Go original has none of these; its `/…/0.1` shapes stay in domain/wire.py untouched.
Field names are Go-style (PascalCase) like the original's.
"""

from __future__ import annotations

import msgspec

GET_REVISION_PROTOCOL = "/get/0.2"
ADD_IF_PROTOCOL = "/add/0.2"
DELETE_IF_PROTOCOL = "/delete/0.2"


class GetRevisionResponse(msgspec.Struct, rename="pascal", omit_defaults=True):
    """`/get/0.2`: the 0.1 answer plus the record's mod revision (0 when absent)."""

    info_str: str
    lookup_ok: bool
    revision: int
    stale: bool = False


class AddIfRequest(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    """`/add/0.2`. IfRevision: missing = always; 0 = only if absent; N = only if still at N."""

    name: str
    info_str: str
    if_revision: int | None = None


class DeleteIfRequest(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    """`/delete/0.2`, IfRevision as for `/add/0.2`."""

    name: str
    if_revision: int | None = None


class WriteResult(msgspec.Struct, rename="pascal", omit_defaults=True):
    """Answer of `/add/0.2` and `/delete/0.2`.

    Ok: Revision is the write's revision (the record's new mod revision). Not ok:
    Revision is the record's current mod revision (0 = absent) and Error says why.
    Deleted (delete only) counts the records removed: 0 or 1. Refused: the write was not
    attempted (the peer is not in the writers list, or the record is invalid); Error says
    why, in the `Error: ...` words of the 0.1 answers.
    """

    ok: bool
    revision: int
    error: str = ""
    deleted: int | None = None
    refused: bool = False


# One write's outcome as the storage reports it (no wire concerns).
class WriteOutcome(msgspec.Struct, frozen=True):
    ok: bool
    revision: int
    deleted: int = 0


def condition_failed_text(name: str, if_revision: int, current: int) -> str:
    wanted = "absent" if if_revision == 0 else f"at revision {if_revision}"
    now = "absent (revision 0)" if current == 0 else f"at revision {current}"
    return f"condition failed: {name!r} was to be {wanted} but is {now}"
