"""Who may do what over HTTP: bearer tokens with a read or write role (docs/http.md).

Reads need no credential on a loopback-only listener; writes always need a token
with the write role, so that a local user cannot get around the writers list.
A refusal says nothing about the registry, only that the credential does not do.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from domain.http_token import TokenEntry, TokenRole, token_digest

ANONYMOUS = "-"


class TokenStore(Protocol):
    """The tokens now valid (a file that may be reloaded at any time)."""

    def find(self, digest: str) -> TokenEntry | None: ...


class Unauthenticated(PermissionError):
    """No credential, or one that is not (or no longer) valid: HTTP 401."""


class Forbidden(PermissionError):
    """A valid credential whose role does not allow this: HTTP 403."""


class Caller(msgspec.Struct, frozen=True):
    name: str  # the token's name; ANONYMOUS for an open read
    role: TokenRole | None


class HttpAccess:
    def __init__(self, tokens: TokenStore | None, *, open_reads: bool) -> None:
        self._tokens = tokens
        self._open_reads = open_reads

    def _caller(self, authorization: str | None) -> Caller | None:
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or self._tokens is None:
            raise Unauthenticated("a valid bearer token is needed")
        entry = self._tokens.find(token_digest(token))
        if entry is None:
            raise Unauthenticated("a valid bearer token is needed")
        return Caller(entry.name, entry.role)

    def read(self, authorization: str | None) -> Caller:
        caller = self._caller(authorization)
        if caller is not None:
            return caller
        if not self._open_reads:
            raise Unauthenticated("a valid bearer token is needed")
        return Caller(ANONYMOUS, None)

    def write(self, authorization: str | None) -> Caller:
        caller = self._caller(authorization)
        if caller is None:
            raise Unauthenticated("a bearer token with the write role is needed")
        if caller.role is not TokenRole.WRITE:
            raise Forbidden("this token may not write")
        return caller
