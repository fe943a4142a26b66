"""Advice about the passphrase that names the way this command was given one."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def psk_source(
    passphrase: str | None, psk_file: str | None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """Where resolve_psk takes the passphrase from (same order); None: nowhere."""
    if passphrase is not None:
        return "--psk"
    if psk_file is not None:
        return "--psk-file"
    if environ.get("P2P_PSK") is not None:
        return "P2P_PSK"
    if environ.get("P2P_PSK_FILE"):
        return "P2P_PSK_FILE"
    return None


def passphrase_hint(source: str | None) -> str:
    if source is None:
        return "give its passphrase with --psk-file FILE (or --psk, P2P_PSK_FILE, P2P_PSK)"
    return f"the one given with {source} is not theirs"


def with_passphrase_hint(exc: Exception, source: str | None) -> Exception:
    """``exc`` with the hint added if it says the peers are in another private network."""
    # Only a client that dialled has loaded it; --help and keygen must not load libp2p.
    module = sys.modules.get("adapters.libp2p.dial_failure")
    if module is None or not isinstance(exc, module.WrongPrivateNetwork):
        return exc
    hinted: Exception = module.WrongPrivateNetwork(f"{exc}; {passphrase_hint(source)}")
    return hinted
