"""The daemon's process loads only the code it runs (issue 27, idle footprint).

``import libp2p`` loads QUIC (aioquic), TLS/ACME, relay, DNS, WebSocket and more, and
dependency_injector imports pydantic, pydantic_settings and PyYAML when it finds them,
for ``Configuration.from_pydantic`` / ``from_yaml``, which we never call. Together
~45 MB of an idle daemon's RSS (``docs/performance.md``, "Idle footprint"). The
daemon stands in for py-libp2p's unused parts as ``registry-cli`` does
(``adapters/libp2p/upstream/lean_import.py``, which also keeps cffi out: pycryptodome's
ctypes backend, 1.9 against 2.1 us for a 200-byte PSK frame) and keeps those three out.
"""

from __future__ import annotations

from adapters.libp2p.upstream.lean_import import KEPT_OUT, activate

DAEMON_KEEPS_OUT = KEPT_OUT | {
    name: "dependency_injector imports it only for Configuration.from_pydantic/from_yaml"
    for name in ("pydantic", "pydantic_settings", "yaml")
}

# dependency_injector's wiring imports Starlette (and with it anyio) to recognise its
# Request class; a daemon without --http never loads the HTTP stack.
WITHOUT_HTTP_KEEPS_OUT = {
    "starlette": "dependency_injector's wiring looks for it; the HTTP API is off",
}


def load_lean(*, http: bool) -> bool:
    """Before the daemon's modules are imported; False if py-libp2p already was."""
    return activate(keep_out=DAEMON_KEEPS_OUT | ({} if http else WITHOUT_HTTP_KEEPS_OUT))
