"""py-libp2p's Yamux reads each of its PY_YAMUX_* tuning variables once, not per frame.

py-libp2p 0.8.1 looks its perf-harness knobs (``PY_YAMUX_DATA_READ_TIMEOUT``,
``..._DISABLE_HYSTERESIS`` and others) up in ``os.environ`` on every DATA frame it
reads and on every stream read: 3.9 % of a daemon's CPU serving a js-libp2p client's
gets (py-spy). Ours reads each once per process, at its first use; nothing of ours
sets them. tests/unit/test_yamux_env.py pins upstream's per-call reading.
"""

from __future__ import annotations

import functools

from libp2p.stream_muxer.yamux import yamux


def read_yamux_env_once() -> None:
    """Process-wide and idempotent."""
    if not hasattr(yamux._py_yamux_env, "cache_info"):
        yamux._py_yamux_env = functools.cache(yamux._py_yamux_env)
