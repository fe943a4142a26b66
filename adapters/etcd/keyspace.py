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
