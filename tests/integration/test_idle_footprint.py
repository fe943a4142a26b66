"""An idle registry-service loads only the code it runs (issue 27, idle footprint).

A real daemon with its own etcd member. QUIC (aioquic), pydantic and PyYAML have C
extensions, so a daemon that loads them again (``import libp2p`` without the stand-ins
of ``lean_import.py``, or dependency_injector finding pydantic and PyYAML) maps their
shared objects: the test reads ``/proc/PID/maps``. Its RSS is compared with the import
floor (the libraries it runs, imported the lean way, nothing run) in the same test.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from registry_process import RegistryProcess

from domain.psk import psk_from_passphrase
from entrypoints import library
from entrypoints.library import ServiceInfo

# Shared objects of the parts a daemon never runs.
NEVER_MAPPED = ("aioquic/", "pydantic_core/", "yaml/_yaml")
# Measured 1.24x (docs/performance.md, "Idle footprint"); before the lean import 1.84x.
IDLE_OVER_FLOOR = 1.3
FLOOR = """
from adapters.libp2p.upstream.lean_import import activate; activate()
import libp2p, libp2p.kad_dht.kad_dht, libp2p.security.noise.transport
import libp2p.stream_muxer.yamux.yamux, trio, etcd3, prometheus_client, msgspec
print(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])
"""


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])


def test_an_idle_daemon_maps_no_quic_pydantic_or_yaml_and_stays_near_its_import_floor(
    tmp_path: Path,
) -> None:
    proc = RegistryProcess(tmp_path / "idle").start()
    try:
        psk = psk_from_passphrase(proc.passphrase or "")  # served: an add and a get
        library.add_service_blocking(proc.addrs, psk, "svc", ServiceInfo(content_hash="QmIdle"))
        assert library.get_service_blocking(proc.addrs, psk, "svc").content_hash == "QmIdle"
        time.sleep(2)
        pid = proc.process.pid if proc.process else 0
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert [m for m in NEVER_MAPPED if m in maps] == []
        assert "libp2p" in maps or "cryptography" in maps  # the check reads a real daemon
        idle = rss_kb(pid)
    finally:
        proc.stop()
    floor = int(subprocess.run([sys.executable, "-c", FLOOR], capture_output=True, text=True,
                               check=True, cwd=Path(__file__).resolve().parents[2]).stdout)
    assert idle <= IDLE_OVER_FLOOR * floor, (idle, floor, idle / floor)
