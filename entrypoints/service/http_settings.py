"""--http-listen, --http-cert, --http-key, --http-tokens-file: checked before anything starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path


class HttpExposureRefused(ValueError):
    """A non-loopback --http-listen without TLS and an access-token file."""


@dataclass(frozen=True)
class HttpSettings:
    host: str
    port: int
    cert: Path | None = None
    key: Path | None = None
    tokens_file: Path | None = None
    max_connections: int = 1024

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def http_settings(
    listen: str, cert: Path | None, key: Path | None, tokens_file: Path | None,
    max_connections: int = 1024,
) -> HttpSettings:
    """From --http-listen HOST:PORT and friends; refuses an exposed listener without TLS
    and tokens (docs/security.md, "The HTTP API")."""
    host, sep, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--http-listen wants HOST:PORT (e.g. 127.0.0.1:8500), got {listen!r}")
    if (cert is None) != (key is None):
        raise ValueError("--http-cert and --http-key go together")
    if max_connections < 1:
        raise ValueError(f"--http-max-connections must be at least 1, got {max_connections}")
    settings = HttpSettings(host, int(port), cert, key, tokens_file, max_connections)
    if not settings.loopback and (cert is None or tokens_file is None):
        raise HttpExposureRefused(
            f"--http-listen {listen} is not a loopback address: it needs TLS (--http-cert, "
            "--http-key) and an access-token file (--http-tokens-file), so that neither "
            "tokens nor records cross the network in clear and nobody reads without a token"
        )
    return settings
