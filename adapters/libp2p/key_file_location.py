"""Where an instance keeps its key when no --keyfile is given: one file per instance.

The Go original's default, ``~/.privKeyHashLookup``, is shared by every instance
on a host, so they all got the same peer id. An instance's own key now lives
next to its etcd data dir. An instance that ran before with the old shared
default (its data dir holds a member) gets a copy of that key, so its peer id,
which clients have in their bootstrap lists, stays the same.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from adapters.libp2p.identity import DEFAULT_KEYFILE

log = logging.getLogger(__name__)


def instance_key_file(etcd_data_dir: Path) -> Path:
    """``<etcd data dir>.key``: beside the data dir, so that --leave (which deletes it) keeps it."""
    return etcd_data_dir.with_name(etcd_data_dir.name + ".key")


def choose_key_file(flag: str | None, etcd_data_dir: Path, *, ran_before: bool) -> Path:
    """``--keyfile`` as given (Go's path among others), else this instance's own file."""
    if flag is not None:
        return Path(flag).expanduser()
    own = instance_key_file(etcd_data_dir)
    shared = Path(DEFAULT_KEYFILE).expanduser()
    if ran_before and not own.exists() and shared.is_file():
        _copy_private(shared, own)
        log.warning("this instance's key is now %s, a copy of %s, the shared default it ran "
                    "with before (same peer id)", own, shared)
    return own


def _copy_private(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never clobber a key another process wrote meanwhile; 0600 from the start.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(source.read_bytes())
