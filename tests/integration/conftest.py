import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from registry_process import RegistryProcess

# Node >= 20 from scripts/setup-node.sh, when the machine's own node is older.
_NODE_BIN = Path(__file__).resolve().parents[2] / ".tools" / "node" / "node_modules" / ".bin"
if _NODE_BIN.is_dir():
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ['PATH']}"

# Docker adapters' tests that use no engine (file systems, recorded messages): they run
# under -m "not docker" too.
_NO_ENGINE = {"test_docker_build_context.py", "test_docker_stream_messages.py"}
_DOCKER_FIXTURES = {"docker_client", "docker_test_images", "registry_server", "proxy_binary"}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
        by_name = item.path.name.startswith("test_docker_") and item.path.name not in _NO_ENGINE
        if by_name or _DOCKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)


@pytest.fixture
def registry(tmp_path):
    """A running registry-service with its own etcd, on loopback."""
    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed: run scripts/setup.sh (Debian etcd-server)")
    proc = RegistryProcess(tmp_path / "registry").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http_registry(tmp_path_factory):
    """A running registry-service with the HTTP API on loopback, a write and a read token."""
    from http_fixtures import start_http_registry

    if shutil.which("etcd") is None:
        pytest.fail("etcd is not installed: run scripts/setup.sh (Debian etcd-server)")
    registry = start_http_registry(tmp_path_factory.mktemp("http"))
    yield registry
    registry.stop()
