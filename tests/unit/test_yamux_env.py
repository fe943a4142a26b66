"""py-libp2p's Yamux tuning variables: upstream reads them per call, ours once."""

from __future__ import annotations

import pytest
from libp2p.stream_muxer.yamux import yamux

from adapters.libp2p.upstream.yamux_env import read_yamux_env_once


def test_upstream_reads_the_environment_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Upstream: when this fails, py-libp2p caches them itself and yamux_env.py can go."""
    upstream = getattr(yamux._py_yamux_env, "__wrapped__", yamux._py_yamux_env)
    monkeypatch.setenv("PY_YAMUX_REGISTRY_PROBE_A", "first")
    assert upstream("REGISTRY_PROBE_A") == "first"
    monkeypatch.setenv("PY_YAMUX_REGISTRY_PROBE_A", "second")
    assert upstream("REGISTRY_PROBE_A") == "second"


def test_ours_reads_each_variable_once(monkeypatch: pytest.MonkeyPatch) -> None:
    read_yamux_env_once()
    read_yamux_env_once()  # idempotent: one cache, not a cache of a cache
    assert not hasattr(yamux._py_yamux_env.__wrapped__, "cache_info")  # type: ignore[attr-defined]
    monkeypatch.setenv("PY_YAMUX_REGISTRY_PROBE_B", "first")
    assert yamux._py_yamux_env("REGISTRY_PROBE_B") == "first"
    monkeypatch.setenv("PY_YAMUX_REGISTRY_PROBE_B", "second")
    assert yamux._py_yamux_env("REGISTRY_PROBE_B") == "first"
    assert yamux._py_yamux_env("REGISTRY_PROBE_C", "default") == "default"
    assert yamux._yamux_data_read_timeout() > 0  # upstream's callers still work
