"""Wire shapes of our own `/watch/0.1` (the revisioned `/…/0.2` ones: domain/revision_wire.py).

The Go original has none of these; its `/…/0.1` shapes stay in domain/wire.py untouched.
Field names are Go-style (PascalCase) like the original's.
"""

from __future__ import annotations

import enum

import msgspec

WATCH_PROTOCOL = "/watch/0.1"

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


# How the ERROR of an instance at its --max-watches begins (docs/protocol.md): not a bad
# request, so a client tries another instance.
WATCH_LIMIT_REACHED = "watch limit reached:"


def watch_limit_reason(limit: int) -> str:
    return (f"{WATCH_LIMIT_REACHED} this registry-service serves at most {limit} watches "
            "at once (--max-watches); try again later or another instance")


def cut_off_notice(revision: int, cut_off: bool) -> WatchEvent:
    """The PROGRESS line saying the serving instance was cut off from its quorum, or is back."""
    return WatchEvent(type=EventType.PROGRESS, revision=revision, cut_off=cut_off)
