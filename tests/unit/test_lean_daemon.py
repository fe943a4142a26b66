"""entrypoints/service/lean_daemon.py: what registry-service imports to serve.

A fresh interpreter imports what ``serve`` imports, after ``load_lean`` as ``serve``
calls it, then the test reads ``sys.modules``. A change that brings back QUIC, pydantic,
PyYAML or the HTTP server into a daemon started without ``--http`` fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NEVER_IMPORTED = (
    "aioquic", "service_identity", "dns", "zeroconf", "trio_websocket",  # stood in
    "pydantic", "pydantic_core", "pydantic_settings", "yaml",  # kept out
    "hypercorn",  # only with --http
)

_PROBE = """
import json, sys
from entrypoints.service.lean_daemon import load_lean
assert load_lean()
import entrypoints.service.main, entrypoints.service.daemon, entrypoints.service.container
import adapters.libp2p.node, libp2p.kad_dht.kad_dht
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_daemon_imports_no_quic_pydantic_yaml_or_http_server() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    loaded = set(json.loads(out))
    assert {"libp2p", "trio", "etcd3", "dependency_injector"} <= loaded  # a real import
    assert sorted(loaded & set(NEVER_IMPORTED)) == []

