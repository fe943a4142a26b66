"""adapters/libp2p/upstream/lean_import.py: what it stands in for still matches py-libp2p.

The checks against the real package run in fresh interpreters, so this test
process never holds stand-ins. A py-libp2p upgrade that renames, moves or newly
imports anything the stand-ins cover fails here (and at import, loudly).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

from adapters.libp2p.upstream import lean_import
from adapters.libp2p.upstream.lean_import import (
    PY_LIBP2P_VERSION,
    STAND_INS,
    LeanImportOutdated,
    StoodInPartUsed,
    _placeholder,
    _StandIn,
)

# What the stand-ins keep out of a client process (top-level distributions).
KEPT_OUT = ("aioquic", "service_identity", "dns", "netaddr", "requests", "httpx",
            "zeroconf", "trio_websocket", "wsproto", "fastecdsa", "prometheus_client",
            "cffi", "pycparser")


def run_python(code: str) -> object:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_installed_py_libp2p_is_the_version_the_stand_ins_were_checked_against() -> None:
    assert version("libp2p") == PY_LIBP2P_VERSION


def test_every_stood_in_module_and_name_exists_in_the_real_package() -> None:
    # Kind by name: lower-case names are functions, capitalised ones classes,
    # UPPER_CASE ones constants; the stand-ins treat them so.
    code = f"""
import importlib, inspect, json
problems = []
for module, names in {dict((m, sorted(n)) for m, n in STAND_INS.items())!r}.items():
    try:
        real = importlib.import_module(module)
    except ImportError as exc:
        problems.append(f"{{module}}: {{exc}}")
        continue
    for name in names:
        if not hasattr(real, name):
            problems.append(f"{{module}}.{{name}} is gone")
            continue
        value = getattr(real, name)
        if name.isupper():
            ok = not callable(value)
        elif name[0].islower():
            ok = inspect.isfunction(value)
        else:
            ok = inspect.isclass(value)
        if not ok:
            problems.append(f"{{module}}.{{name}} is now {{type(value).__name__}}")
print(json.dumps(problems))
"""
    assert run_python(code) == []


def test_client_path_imports_none_of_the_stood_in_parts_and_builds_a_host() -> None:
    code = f"""
import json, sys
from adapters.libp2p.upstream import lean_import
assert lean_import.activate()
import entrypoints.library
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
build_host(NodeSettings(key_pair=ephemeral_identity(), psk=b"k" * 32, dht_server=False))
build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({KEPT_OUT!r}))
stood_in = sorted(m for m in {sorted(STAND_INS)!r}
                  if isinstance(sys.modules.get(m), lean_import._StandIn))
print(json.dumps([loaded, stood_in]))
"""
    loaded, stood_in = run_python(code)  # type: ignore[misc]
    assert loaded == []
    # Each stand-in is still needed: py-libp2p imports every one on this path.
    assert stood_in == sorted(STAND_INS)


def test_without_activation_the_same_path_loads_them() -> None:
    # The check above can fail: the real package does import these parts.
    code = f"""
import json, sys
import entrypoints.library
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({KEPT_OUT!r}))))
"""
    assert "aioquic" in run_python(code)  # type: ignore[operator]


def test_a_process_that_already_imported_py_libp2p_is_left_alone() -> None:
    code = """
import json, sys
import libp2p
from adapters.libp2p.upstream import lean_import
print(json.dumps([lean_import.activate(), lean_import._FINDER in sys.meta_path]))
"""
    assert run_python(code) == [False, False]


def test_an_upgrade_that_imports_a_new_name_fails_loudly() -> None:
    module = _StandIn("libp2p.transport.quic.utils", frozenset({"is_quic_multiaddr"}))
    with pytest.raises(LeanImportOutdated, match="add it to STAND_INS"):
        module.is_quic_v2  # noqa: B018
    assert callable(module.is_quic_multiaddr)


def test_an_upgrade_that_imports_a_new_submodule_fails_loudly() -> None:
    finder = lean_import._StandInFinder()
    finder.checked = True
    with pytest.raises(LeanImportOutdated, match="add it to STAND_INS"):
        finder.find_spec("libp2p.transport.quic.listener", None)
    assert finder.find_spec("libp2p.transport.tcp.tcp", None) is None


def test_a_different_py_libp2p_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lean_import, "installed_version", lambda: "0.9.0")
    finder = lean_import._StandInFinder()
    with pytest.raises(LeanImportOutdated, match=r"0\.8\.1, but 0\.9\.0 is installed"):
        finder.find_spec("libp2p", None)


def test_using_a_stood_in_part_fails_at_once() -> None:
    transport_class = _placeholder("libp2p.transport.quic.transport", "QUICTransport")
    assert isinstance(transport_class, type)
    transport = transport_class("key", config=None)  # built at import by some modules
    with pytest.raises(StoodInPartUsed, match="QUICTransport"):
        transport.dial  # noqa: B018
    resolve = _placeholder("libp2p.utils.dns_utils", "resolve_multiaddr_with_retry")
    with pytest.raises(StoodInPartUsed, match="resolve_multiaddr_with_retry"):
        resolve("/dns4/example.org/tcp/1")


def test_placeholder_classes_work_in_except_and_isinstance() -> None:
    closed = _placeholder("libp2p.transport.quic.exceptions", "QUICStreamClosedError")
    try:
        raise ValueError("x")
    except (closed, ValueError) as exc:  # type: ignore[misc]
        assert not isinstance(exc, closed)
