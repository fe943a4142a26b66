"""Wire shapes of our own protocols: `/watch/0.1` and the revisioned `/get|add|delete/0.2`.

The Go original has none of these; its `/…/0.1` shapes stay in domain/wire.py untouched.
Field names are Go-style (PascalCase) like the original's.
"""

from __future__ import annotations

import enum

import msgspec

WATCH_PROTOCOL = "/watch/0.1"
GET_REVISION_PROTOCOL = "/get/0.2"
ADD_IF_PROTOCOL = "/add/0.2"
DELETE_IF_PROTOCOL = "/delete/0.2"

# The watch request is tiny; more than this is refused.
MAX_WATCH_REQUEST_BYTES = 64 * 1024
# One event line (a PUT carries an InfoStr, itself below the 1 MiB request limit).
MAX_EVENT_LINE_BYTES = (1 << 20) + 4096


class WatchRequest(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    names: list[str] | None = None
    prefix: str = ""
    since_revision: int = 0

    def matches(self, name: str) -> bool:
        """Names (if any) and Prefix (if any) must both hold."""
        if self.names and name not in self.names:
            return False
        return name.startswith(self.prefix)


class EventType(enum.StrEnum):
    PUT = "PUT"
    DELETE = "DELETE"
    SYNCED = "SYNCED"
    RESET = "RESET"
    PROGRESS = "PROGRESS"
    ERROR = "ERROR"


class WatchEvent(msgspec.Struct, rename="pascal", omit_defaults=True, kw_only=True):
    """One line of a watch stream; fields that do not apply to the type are left out."""

    type: EventType
    name: str | None = None
    info_str: str | None = None
    revision: int | None = None
    error: str | None = None
    # PROGRESS only: true when the serving instance lost its etcd quorum (changes stop
    # coming until it is back), false once it has it again and every change is sent.
    cut_off: bool | None = None


def cut_off_notice(revision: int, cut_off: bool) -> WatchEvent:
    """The PROGRESS line saying the serving instance was cut off from its quorum, or is back."""
    return WatchEvent(type=EventType.PROGRESS, revision=revision, cut_off=cut_off)


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
