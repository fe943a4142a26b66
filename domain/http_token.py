"""HTTP access tokens: a name, a role, and only the SHA-256 of the secret (docs/http.md).

A token is 32 random bytes, so one round of SHA-256 is enough: there is no
dictionary to try, and the file never holds anything that would let a reader
call the API.
"""

from __future__ import annotations

import enum
import hashlib
import re

import msgspec

TOKEN_PREFIX = "rgt_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class TokenRole(enum.Enum):
    READ = "read"
    WRITE = "write"


class TokenFileError(ValueError):
    """A tokens file (or a token name) that cannot be used; the message names the line."""


class TokenEntry(msgspec.Struct, frozen=True):
    name: str
    role: TokenRole
    digest: str  # "sha256:<hex>" of the token

    def line(self) -> str:
        return f"{self.name} {self.role.value} {self.digest}\n"


def token_digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise TokenFileError(
            f"bad token name {name!r}: 1 to 64 of A-Z a-z 0-9 . _ @ -, starting with a letter "
            "or digit"
        )
    return name


def parse_tokens(text: str, source: str = "tokens file") -> dict[str, TokenEntry]:
    """digest -> entry. Lines: ``NAME ROLE sha256:HEX``; ``#`` starts a comment."""
    entries: dict[str, TokenEntry] = {}
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{source}, line {number}"
        if len(fields) != 3:
            raise TokenFileError(f"{where}: expected 'NAME ROLE sha256:HEX'")
        name, role, digest = fields
        try:
            check_token_name(name)
            entry = TokenEntry(name, TokenRole(role), digest)
        except (TokenFileError, ValueError) as exc:
            raise TokenFileError(f"{where}: {exc}") from None
        if not _HASH.fullmatch(digest):
            raise TokenFileError(f"{where}: the third field is not sha256: and 64 hex digits")
        if name in names:
            raise TokenFileError(f"{where}: the name {name} appears twice")
        names.add(name)
        entries[digest] = entry
    return entries


def render_tokens(entries: list[TokenEntry]) -> str:
    header = "# registry-service HTTP tokens: NAME ROLE sha256(token). Edit with http-token.\n"
    return header + "".join(e.line() for e in sorted(entries, key=lambda e: e.name))
