"""The bare py-libp2p stack, for baselines: nodes built after ``use_bare_stack(True)``
run py-libp2p's own Yamux, multistream-select and stream notifications
(``adapters.libp2p.upstream.use_fast_path`` left out)."""

from __future__ import annotations

from typing import Any

from adapters.libp2p import upstream

_OURS = upstream.use_fast_path


def _nothing(host: Any) -> None:
    return None


def use_bare_stack(bare: bool) -> None:
    upstream.use_fast_path = _nothing if bare else _OURS  # type: ignore[assignment]
