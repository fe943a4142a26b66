"""Import py-libp2p without the parts a registry client never runs.

``import libp2p`` (0.8.1) loads QUIC (aioquic), TLS with ACME, circuit relay,
DNS resolution, WebSocket, mDNS, SECIO, metrics and persistent peer stores, because its
``__init__`` and a few core modules import them at module level. They are ~3/4
of its start-up time, and a ``registry-cli get`` uses none of them: it dials TCP
with PSK, Noise and Yamux.

:func:`activate` puts stand-in modules in their place before py-libp2p is
imported. A stand-in offers exactly the names py-libp2p imports from it; each is a
class that works in ``isinstance`` and ``except`` clauses, and whose instances
refuse every use. So a code path that really needs one of these parts fails at once with
:class:`StoodInPartUsed`, and an upgraded py-libp2p that imports something new
fails at import with :class:`LeanImportOutdated` (tests/unit/test_lean_import.py
checks both, and that every stood-in name exists in the real package).

Only whole processes of ours activate it (``registry-cli``, and the daemon:
``entrypoints/service/lean_daemon.py``): the stand-ins stay for the process's
lifetime, so a library user's process is never changed.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from collections.abc import Mapping, Sequence

from adapters.libp2p.upstream.requirements import PINNED_VERSION as PY_LIBP2P_VERSION
from adapters.libp2p.upstream.requirements import installed_version

# Module -> the names py-libp2p's client path imports from it at module level.
STAND_INS: dict[str, frozenset[str]] = {
    name: frozenset(names.split())
    for name, names in {
        # QUIC (aioquic, its TLS stack and service_identity): ~0.4 s of import.
        "libp2p.transport.quic": "",
        "libp2p.transport.quic.utils": "is_quic_multiaddr",
        "libp2p.transport.quic.transport": "QUICTransport",
        "libp2p.transport.quic.config": "QUICTransportConfig",
        "libp2p.transport.quic.stream": "QUICStream",
        "libp2p.transport.quic.exceptions": "QUICStreamClosedError QUICStreamResetError",
        # TLS security and AutoTLS/ACME (requests, httpx).
        "libp2p.security.tls": "",
        "libp2p.security.tls.transport": "PROTOCOL_ID TLSTransport",
        "libp2p.security.tls.autotls": "",
        "libp2p.security.tls.autotls.acme": "ACMEClient compute_b36_peer_id",
        "libp2p.security.tls.autotls.broker": "BrokerClient",
        # Circuit relay v2 (netaddr); basic_host wants one helper for AutoTLS.
        "libp2p.relay": "",
        "libp2p.relay.circuit_v2": "",
        "libp2p.relay.circuit_v2.nat": "is_private_ip",
        # DNS resolution (dnspython, which pulls aioquic in again): we dial IP addresses.
        "multiaddr.resolvers": "DNSResolver",
        "libp2p.utils.dns_utils": "DNSResolutionMetrics resolve_multiaddr_with_retry",
        # WebSocket (trio-websocket, wsproto), mDNS (zeroconf), persistent peer stores.
        "libp2p.transport.websocket": "",
        "libp2p.transport.websocket.transport": "WebsocketTransport",
        "libp2p.discovery.mdns": "",
        "libp2p.discovery.mdns.mdns": "MDNSDiscovery create_mdns_discovery",
        "libp2p.peer.persistent": (
            "create_async_leveldb_peerstore create_async_memory_peerstore "
            "create_async_peerstore create_async_rocksdb_peerstore "
            "create_async_sqlite_peerstore create_sync_leveldb_peerstore "
            "create_sync_memory_peerstore create_sync_peerstore "
            "create_sync_rocksdb_peerstore create_sync_sqlite_peerstore"
        ),
        # SECIO (fastecdsa), a deprecated security transport: new_host only builds it
        # when no security option is given, and we always give Noise.
        "libp2p.security.secio": "",
        "libp2p.security.secio.transport": "ID Transport",
        # Metrics (prometheus_client, http.server): the swarm fills in a SwarmEvent
        # per dial and sends it only when metrics are on, which they are not here.
        "libp2p.metrics": "",
        "libp2p.metrics.swarm": "SwarmEvent",
        # The resource manager's Prometheus exporter (prometheus_client).
        "libp2p.rcmgr.prometheus_exporter": "PrometheusExporter create_prometheus_exporter",
    }.items()
}


# Kept out altogether. pycryptodome (py-libp2p's RSA keys, our PSK's Salsa20) prefers
# cffi, which parses C declarations with pycparser at every library load (~35 ms of
# CPU); without it pycryptodome uses its ctypes backend, as it does under `python -OO`.
KEPT_OUT = {"cffi": "pycryptodome falls back to ctypes"}


class LeanImportOutdated(ImportError):
    """py-libp2p imports something the stand-ins do not offer: update STAND_INS."""


class StoodInPartUsed(RuntimeError):
    """A stood-in part of py-libp2p was used in a process that did not load it."""


def _placeholder(module: str, name: str) -> object:
    where = f"{module}.{name}"

    def refuse(*args: object, **kwargs: object) -> object:
        raise StoodInPartUsed(
            f"{where} is not loaded in this process "
            "(adapters/libp2p/upstream/lean_import.py stands in for it)"
        )

    if name[0].islower():  # a function: calling it is using it
        return refuse

    def accept(self: object, *args: object, **kwargs: object) -> None:
        # Some modules build one at import (bootstrap.py: `resolver = DNSResolver()`);
        # only using it is refused.
        return None

    def refuse_attribute(self: object, attr: str) -> object:
        return refuse()

    # An Exception subclass, so it may appear in `except` clauses as well as isinstance.
    return type(
        name,
        (Exception,),
        {"__init__": accept, "__getattr__": refuse_attribute, "__module__": module},
    )


class _StandIn(types.ModuleType):
    def __init__(self, name: str, names: frozenset[str]) -> None:
        super().__init__(name, "stand-in: see adapters/libp2p/upstream/lean_import.py")
        self.__path__: list[str] = []  # a package, so stood-in submodules resolve
        self._names = names

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__") or attr == "_names":
            raise AttributeError(attr)
        if attr not in self._names:
            raise LeanImportOutdated(
                f"py-libp2p wants {self.__name__}.{attr}, which "
                "adapters/libp2p/upstream/lean_import.py does not stand in for: add it to STAND_INS"
            )
        value = _placeholder(self.__name__, attr)
        setattr(self, attr, value)
        return value


class _StandInFinder:
    """A sys.meta_path finder and loader (duck-typed: importlib.abc costs start-up time)."""

    checked = False

    def __init__(self) -> None:
        self.kept_out: dict[str, str] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "libp2p" and not self.checked:
            _check_version()
            self.checked = True
        if fullname in self.kept_out:
            raise ImportError(f"{fullname} is kept out by lean_import ({self.kept_out[fullname]})")
        if fullname in STAND_INS:
            return importlib.machinery.ModuleSpec(
                fullname, self, is_package=True  # type: ignore[arg-type]  # a Loader by duck typing
            )
        parent = fullname.rpartition(".")[0]
        if parent in STAND_INS:
            raise LeanImportOutdated(
                f"py-libp2p imports {fullname}, inside a part that "
                "adapters/libp2p/upstream/lean_import.py stands in for: add it to STAND_INS"
            )
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _StandIn(spec.name, STAND_INS[spec.name])

    def exec_module(self, module: types.ModuleType) -> None:
        return None


_FINDER = _StandInFinder()


def _check_version() -> None:
    found = installed_version()
    if found != PY_LIBP2P_VERSION:
        raise LeanImportOutdated(
            f"adapters/libp2p/upstream/lean_import.py was checked against py-libp2p "
            f"{PY_LIBP2P_VERSION}, but {found} is installed: rerun "
            "tests/unit/test_lean_import.py and update STAND_INS and PY_LIBP2P_VERSION"
        )


def activate(keep_out: Mapping[str, str] = KEPT_OUT) -> bool:
    """Stand in for py-libp2p's unused parts; False if py-libp2p is already imported.

    Cheap: nothing is imported until py-libp2p is. Its first import then raises
    LeanImportOutdated if the installed py-libp2p is not the version the stand-ins
    were checked against. ``keep_out`` names the modules (with the reason) whose import
    fails: optional imports of libraries that the process never uses.
    """
    _FINDER.kept_out = dict(keep_out)
    if _FINDER in sys.meta_path:
        return True
    if "libp2p" in sys.modules:
        return False
    sys.meta_path.insert(0, _FINDER)
    return True
