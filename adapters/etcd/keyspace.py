"""How the registry lies in etcd: key = service name, value = InfoStr, no prefix.

The Go original uses the same layout, so Go and Python registry-services can
share one etcd cluster.
"""

from __future__ import annotations

# Go's clientv3.WithPrefix("") sends key "\0", range_end "\0": every key.
# (python-etcd3's get_prefix("") would instead ask for the single key "".)
ALL_KEYS = {"key": b"\0", "range_end": b"\0"}


def as_text(raw: bytes) -> str:
    # Keys and values come from our own or Go writers and are UTF-8; one foreign
    # non-UTF-8 key must not make the whole registry unlistable.
    return raw.decode("utf-8", errors="replace")


def prefix_end(prefix: bytes) -> bytes:
    """etcd's range_end for every key starting with ``prefix`` (b"\\0": no end)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def page_range(prefix: str, after: str) -> tuple[bytes, bytes]:
    """(key, range_end) of the names starting with ``prefix`` that sort after ``after``."""
    start = prefix.encode()
    if after and after >= prefix:
        start = after.encode() + b"\0"  # the smallest key after it
    return start or b"\0", prefix_end(prefix.encode())
