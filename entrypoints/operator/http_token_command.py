"""`registry-service http-token add|remove`: manage the HTTP API's tokens file (hashes only)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from cyclopts import App

from adapters.files.http_tokens_file import load_entries, save_entries
from domain.http_token import (
    TOKEN_PREFIX,
    TokenEntry,
    TokenFileError,
    TokenRole,
    check_token_name,
    token_digest,
)

http_token = App(
    name="http-token",
    help="Add or remove bearer tokens of the HTTP API (--http-tokens-file). The file holds "
         "only their SHA-256; send SIGHUP to a running registry-service to apply a change.",
    help_format="plaintext",
)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@http_token.command(name="add")
def add_command(name: str, /, *, role: Literal["read", "write"], tokens_file: Path) -> int:
    """Add a token named NAME and print it, once, on the last line. Keep it secret.

    Parameters
    ----------
    name
        A name for the token's holder (shown in logs and metrics, never the token).
    role
        read: list, get, events, status and targets; write: also PUT and DELETE.
    tokens_file
        The tokens file (created with mode 0600 when missing).
    """
    check_token_name(name)
    entries = load_entries(tokens_file)
    if any(e.name == name for e in entries):
        raise TokenFileError(f"{tokens_file} already has a token named {name}; remove it first")
    token = new_token()
    save_entries(tokens_file, [*entries, TokenEntry(name, TokenRole(role), token_digest(token))])
    print(f"added {role} token {name} to {tokens_file}; SIGHUP a running registry-service. "
          "The token (shown only now):")
    print(token)
    return 0


@http_token.command(name="remove")
def remove_command(name: str, /, *, tokens_file: Path) -> int:
    """Remove the token named NAME; it stops working at the daemon's next SIGHUP.

    Parameters
    ----------
    tokens_file
        The tokens file.
    """
    entries = load_entries(tokens_file)
    kept = [e for e in entries if e.name != name]
    if len(kept) == len(entries):
        raise TokenFileError(f"{tokens_file} has no token named {name}")
    save_entries(tokens_file, kept)
    print(f"removed token {name} from {tokens_file}; SIGHUP a running registry-service")
    return 0
