"""The bare py-libp2p stack, for baselines: nodes built after ``use_bare_stack(True)``
run py-libp2p's own Yamux, multistream-select and stream notifications."""

from __future__ import annotations

from typing import Any

import adapters.libp2p.node as node_module

_OURS = node_module.use_our_libp2p_parts


def _nothing(host: Any, network: Any) -> None:
    return None


def use_bare_stack(bare: bool) -> None:
    node_module.use_our_libp2p_parts = _nothing if bare else _OURS  # type: ignore[assignment]
