"""Flag handling shared by registry-cli and registry-service."""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.bootstrap import BootstrapAddress

PSK_HELP = (
    "Passphrase used to create a pre-shared key (PSK) used amongst nodes to form a private "
    "network. Use one you can memorize or write down safely: without it you cannot join new "
    "nodes to the same network. Default: environment variable P2P_PSK; none means a public "
    "network."
)
PSK_FILE_HELP = (
    "File holding the passphrase (one trailing line break is ignored), so that it does not "
    "show in `ps`; keep it mode 0600. Default: environment variable P2P_PSK_FILE."
)
BOOTSTRAP_HELP = (
    "Multiaddress of a bootstrap node (/ip4/.../tcp/.../p2p/<peer id>). Repeatable. "
    "Default: the space-separated list in environment variable P2P_BOOTSTRAPS."
)


def go_style_flags(argv: Sequence[str], known: Iterable[str]) -> list[str]:
    """Accept Go's single-dash long flags (``-psk x``, ``-psk=x``) as ``--psk``."""
    names = set(known)
    out: list[str] = []
    for arg in argv:
        if arg == "--":
            out.extend(argv[len(out):])
            break
        if arg.startswith("-") and not arg.startswith("--"):
            name = arg[1:].split("=", 1)[0]
            if name in names:
                arg = "-" + arg
        out.append(arg)
    return out


def resolve_bootstraps(flags: Sequence[str] | None) -> list[BootstrapAddress]:
    """Flags win; ``P2P_BOOTSTRAPS`` is used only when no flag gives one."""
    # Imported on use: registry-cli --help reads this module for its help texts alone.
    from domain.bootstrap import parse_bootstraps, split_bootstraps_env

    texts = list(flags or []) or split_bootstraps_env(os.environ.get("P2P_BOOTSTRAPS"))
    return parse_bootstraps(texts)


class LoosePskFileWarning(UserWarning):
    """The passphrase file can be read by other users."""


def resolve_psk(passphrase: str | None, psk_file: Path | str | None = None) -> bytes | None:
    """``--psk``, ``--psk-file``, ``P2P_PSK``, ``P2P_PSK_FILE``: the first given wins.

    None of them means a public network.
    """
    if passphrase is not None and psk_file is not None:
        raise ValueError("give the passphrase either with --psk or with --psk-file, not both")
    if passphrase is None and psk_file is None:
        passphrase = os.environ.get("P2P_PSK")
        if passphrase is None:
            psk_file = os.environ.get("P2P_PSK_FILE") or None
    if psk_file is not None:
        passphrase = read_passphrase_file(Path(psk_file))
    if passphrase is None:
        return None
    from domain.psk import InvalidPsk, psk_from_passphrase

    if passphrase == "":
        # The Go original made a random key of an empty passphrase: a network
        # nobody else can join. Refuse that (a usage error, exit 2) instead of
        # silently isolating the node.
        raise InvalidPsk("the passphrase is empty; give a real one or none at all")
    return psk_from_passphrase(passphrase)


def read_passphrase_file(path: Path) -> str:
    """The passphrase in ``path``, without one trailing line break (as `echo` writes)."""
    path = path.expanduser()
    try:
        mode = path.stat().st_mode
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the passphrase file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"the passphrase file {path} is readable by other users; chmod 600 it",
            LoosePskFileWarning,
            stacklevel=2,
        )
    return text.removesuffix("\n").removesuffix("\r")
