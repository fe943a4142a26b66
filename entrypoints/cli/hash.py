"""``registry-cli hash FILE``: print the CID ``ipfs add`` (kubo defaults) would give FILE.

Lets people check an image's content id by hand, e.g. ``docker save IMG | registry-cli
hash -`` against ``ipfs add -nq``.
"""

from __future__ import annotations

import sys

from entrypoints.cli.container import content_hasher


def hash_command(path: str) -> int:
    """Print the CIDv0 of ``path`` (``-``: standard input); 0 on success, 1 if unreadable."""
    hasher = content_hasher()
    try:
        if path == "-":
            cid = hasher.content_id_of_file(sys.stdin.buffer)
        else:
            cid = hasher.content_id_of_file(path)
    except OSError as error:
        # The reason alone (no traceback): "No such file or directory", "Is a directory"...
        reason = error.strerror or str(error)
        print(f"registry-cli hash: cannot read {path}: {reason}", file=sys.stderr)
        return 1
    print(cid)
    return 0
