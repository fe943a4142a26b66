"""Whether an etcd member still has its database open, seen from outside the process.

etcd (bbolt) holds an exclusive flock on ``member/snap/db`` while the database is open.
On SIGTERM it closes the WAL and then the database, and only after that waits up to 1 s
for the other members' idle peer connections to go away. A member whose database lock
is free again has nothing left to write: ending it then costs nothing.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def database_file(data_dir: Path) -> Path:
    return data_dir / "member" / "snap" / "db"


def database_locked(data_dir: Path) -> bool:
    """Whether some process (etcd) holds the database's lock; False without a database."""
    try:
        fd = os.open(database_file(data_dir), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
