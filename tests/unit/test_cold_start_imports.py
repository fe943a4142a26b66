"""registry-cli's light commands start without the heavy stacks (issue 12, cold start).

Each command runs in a fresh interpreter, as a user's shell runs it; the test then
reads ``sys.modules``. A command added later that imports py-libp2p, trio, etcd or
Docker at module level of entrypoints/cli.py makes these fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Top-level packages that --help, --version and hash must never load.
FORBIDDEN = (
    "libp2p",
    "trio",
    "multiaddr",
    "aioquic",
    "etcd3",
    "grpc",
    "docker",
    "requests",
    "cryptography",
    "dependency_injector",
    "prometheus_client",
)

_PROBE = """
import json, sys
from entrypoints.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_loaded_by(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )
    last_line = done.stderr.strip().splitlines()[-1]
    return set(json.loads(last_line))


def heavy(modules: set[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(FORBIDDEN))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["get", "--help"]])
def test_help_and_version_load_no_heavy_stack(args: list[str]) -> None:
    loaded = modules_loaded_by(*args)
    assert "cyclopts" in loaded  # the probe really ran the CLI
    assert heavy(loaded) == []


def test_hash_loads_no_heavy_stack(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"x" * 300_000)
    loaded = modules_loaded_by("hash", str(target))
    assert "adapters.unixfs.hasher" in loaded
    assert heavy(loaded) == []


def test_probe_sees_a_heavy_import() -> None:
    # The check can fail: a client command does load its stack (and then refuses
    # the malformed bootstrap, before any network traffic).
    loaded = modules_loaded_by("--bootstrap", "/ip4/127.0.0.1/tcp/1", "get", "x")
    assert {"trio", "libp2p"} <= set(heavy(loaded))


def test_client_commands_run_on_the_lean_py_libp2p() -> None:
    # Through run(), the console-script entry, as `registry-cli get` starts; the
    # malformed bootstrap is refused after the client stack is imported.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c",
         "import sys; sys.argv[0] = 'registry-cli'; from entrypoints.cli.main import run; run()",
         "--bootstrap", "/ip4/127.0.0.1/tcp/1", "get", "x"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert done.returncode == 2, done.stderr[-2000:]  # usage error: the bad bootstrap
    assert "libp2p.network.swarm" in imported
    assert not {"aioquic", "dns", "requests", "zeroconf"} & imported
