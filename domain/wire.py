"""The Go original's wire protocol: protocol ids and message shapes."""

from __future__ import annotations

import enum
from typing import TypeVar

import msgspec

T = TypeVar("T")


class Operation(enum.StrEnum):
    ADD = "add"
    GET = "get"
    LIST = "list"
    DELETE = "delete"
    MEMBER_ADD = "memberadd"

    @property
    def protocol_id(self) -> str:
        return f"/{self.value}/0.1"


PROTOCOL_IDS = {op.protocol_id: op for op in Operation}

# A request larger than this is refused without being buffered further.
MAX_REQUEST_BYTES = 1 << 20
# Responses can hold the whole registry (list); bound them all the same.
MAX_RESPONSE_BYTES = 64 << 20

DELETED_TEXT = "Deleted 1 entry from hash lookup"
NOT_DELETED_TEXT = "Error: Failed to delete any entries from hash lookup"


class AddRequest(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    name: str
    info_str: str


# "Stale": true (our addition) marks an answer read from one member's own copy
# while the cluster had no quorum. It is left out when false, so the usual
# answer is byte for byte the Go original's, and Go's decoder ignores it.


class GetResponse(
    msgspec.Struct, rename="pascal", forbid_unknown_fields=False, omit_defaults=True
):
    info_str: str
    lookup_ok: bool
    stale: bool = False


class ListResponse(
    msgspec.Struct, rename="pascal", forbid_unknown_fields=False, omit_defaults=True
):
    name_to_info_str: dict[str, str] | None
    lookup_ok: bool
    stale: bool = False
    # Stored records left out of name_to_info_str because a Go client could not decode
    # them (one would fail its whole list): {name: why}. Go ignores the field.
    unreadable: dict[str, str] | None = None


class MemberAddRequest(msgspec.Struct, rename="pascal", forbid_unknown_fields=False):
    member_name: str
    member_peer_url: str


class MalformedMessage(ValueError):
    """Bytes that do not decode as the message the protocol expects."""


def encode(message: msgspec.Struct) -> bytes:
    # Maps sorted by key, as Go's encoding/json writes them (byte-equal answers).
    return msgspec.json.encode(message, order="deterministic")


def decode(data: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(data, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise MalformedMessage(f"malformed {kind.__name__}: {exc}") from exc


def added_text(name: str, info_str: str) -> str:
    return f"Added {{{name}: {info_str}}}"
