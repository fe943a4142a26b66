"""The texts a registry-service answers a refused write with, Go style.

The Go original answers ``/add/0.1`` and ``/delete/0.1`` with plain text, and
its client prints that text; a reply starting ``Error:`` is how it already
says "nothing changed" (delete). So a refusal is an ``Error:`` text too: a Go
client shows the reason, and ours tells the refusals apart by their wording.
"""

from __future__ import annotations

NOT_A_WRITER_MARK = "is not allowed to write to this registry"
INVALID_RECORD_PREFIX = "Error: not added:"


def not_a_writer_text(peer_id: str | None) -> str:
    return f"Error: peer {peer_id or '(unknown)'} {NOT_A_WRITER_MARK} (not in its writers list)"


def invalid_record_text(name: str, reason: str) -> str:
    return (
        f"{INVALID_RECORD_PREFIX} the InfoStr of {name!r} is not a ServiceInfo record a Go "
        f"client can decode: {reason}"
    )


def is_not_a_writer(reply: str) -> bool:
    return reply.startswith("Error:") and NOT_A_WRITER_MARK in reply


def is_invalid_record(reply: str) -> bool:
    return reply.startswith(INVALID_RECORD_PREFIX)
