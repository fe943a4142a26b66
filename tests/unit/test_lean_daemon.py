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
    "hypercorn", "starlette",  # only with --http
)

_PROBE = """
import json, sys
from entrypoints.service.lean_daemon import load_lean
assert load_lean(http=False)
import entrypoints.service.main, entrypoints.service.daemon, entrypoints.service.container
import adapters.libp2p.node, libp2p.kad_dht.kad_dht
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_a_daemon_without_http_imports_no_quic_pydantic_yaml_or_http_stack() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    loaded = set(json.loads(out))
    assert {"libp2p", "trio", "etcd3", "dependency_injector"} <= loaded  # a real import
    assert sorted(loaded & set(NEVER_IMPORTED)) == []



def test_a_daemon_with_http_loads_the_http_stack_after_the_lean_import() -> None:
    probe = _PROBE.replace("load_lean(http=False)", "load_lean(http=True)").replace(
        "import adapters.libp2p.node,",
        "import entrypoints.service.http_api, adapters.libp2p.node,")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    loaded = set(json.loads(out))
    assert {"hypercorn", "starlette"} <= loaded
    assert sorted(loaded & {"aioquic", "pydantic", "yaml"}) == []
