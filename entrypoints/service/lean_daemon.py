"""The daemon's process loads only the code it runs (issue 27, idle footprint).

``import libp2p`` loads QUIC (aioquic), TLS/ACME, relay, DNS, WebSocket and more, and
dependency_injector imports pydantic, pydantic_settings and PyYAML when it finds them,
for ``Configuration.from_pydantic`` / ``from_yaml``, which we never call. Together
~45 MB of an idle daemon's RSS (``docs/performance.md``, "Idle footprint"). The
daemon stands in for py-libp2p's unused parts as ``registry-cli`` does
(``adapters/libp2p/upstream/lean_import.py``) and keeps those three out.
"""

from __future__ import annotations

from adapters.libp2p.upstream.lean_import import activate

DAEMON_KEEPS_OUT = {
    name: "dependency_injector imports it only for Configuration.from_pydantic/from_yaml"
    for name in ("pydantic", "pydantic_settings", "yaml")
}


def load_lean() -> bool:
    """Before the daemon's modules are imported; False if py-libp2p already was."""
    return activate(also_keep_out=DAEMON_KEEPS_OUT)
