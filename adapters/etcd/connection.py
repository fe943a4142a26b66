"""One gRPC channel to one etcd member, with bounded, trio-friendly calls."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import grpc
import trio
from etcd3 import etcdrpc

from adapters.etcd.cluster_api import ClusterStub
from adapters.etcd.errors import translate_rpc_error
from adapters.etcd.grpc_trio import await_grpc_future
from adapters.etcd.local_client import dialable_socket_path
from application.ports import StorageUnavailable

DEFAULT_TIMEOUT = 5.0

# gRPC's deadline normally ends a call; this trio-side margin only matters if
# gRPC itself misbehaves, so that no caller can hang forever.
_GUARD_MARGIN = 1.0

# Ask etcd to fail at once with "no leader" instead of queueing the request
# until our deadline (the metadata etcd's Go client sends for the same purpose).
REQUIRE_LEADER = (("hasleader", "true"),)

_CHANNEL_OPTIONS = [
    # A restarted etcd must be usable again within about a second; gRPC's
    # default back-off grows to 120 s, during which every call fails at once.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # `list` returns the whole registry in one response; gRPC's 4 MiB default
    # would make a large registry unlistable.
    ("grpc.max_receive_message_length", 512 * 1024 * 1024),
    # The member is a direct neighbour; an http_proxy in the environment must not apply.
    ("grpc.enable_http_proxy", 0),
]


def parse_client_url(client_url: str) -> tuple[str, int]:
    """``http://10.0.0.1:2379`` -> ``("10.0.0.1", 2379)``; IPv6 hosts without brackets."""
    parts = urlsplit(client_url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"etcd client URL must look like http://<ip>:<port>, got {client_url!r}")
    return parts.hostname, parts.port or 2379


def _grpc_target(client_url: str) -> tuple[str, int | None]:
    """gRPC's target for ``client_url``, and a directory fd the target needs kept open."""
    if client_url.startswith("unix:"):
        path, fd = dialable_socket_path(client_url.removeprefix("unix:"))
        return f"unix:{path}", fd
    host, port = parse_client_url(client_url)
    return (f"[{host}]:{port}" if ":" in host else f"{host}:{port}"), None


class EtcdConnection:
    """Calls to the etcd member at ``client_url``; every call ends within ``timeout`` seconds.

    ``client_url`` is ``http://<ip>:<port>`` or ``unix:/abs/path/NAME:PORT`` (a
    member listening on a unix socket, see local_client.py).

    Failures surface as StorageUnavailable (unreachable, no leader, timeout) or
    EtcdRequestRejected (etcd refused the request). Safe to share between tasks.
    """

    def __init__(self, client_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.client_url = client_url
        self.timeout = timeout
        target, self._directory_fd = _grpc_target(client_url)
        self._channel = grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self.kv = etcdrpc.KVStub(self._channel)
        # etcd 3.4's Cluster service (learners, promotion); see cluster_api.py.
        self.cluster = ClusterStub(self._channel)
        self.maintenance = etcdrpc.MaintenanceStub(self._channel)
        self.watch = etcdrpc.WatchStub(self._channel)

    async def call(
        self,
        method: Any,
        request: Any,
        *,
        timeout: float | None = None,
        require_leader: bool = True,
    ) -> Any:
        """Run the unary RPC ``method`` (a stub attribute, e.g. ``self.kv.Range``)."""
        seconds = self.timeout if timeout is None else timeout
        metadata = REQUIRE_LEADER if require_leader else None
        future = method.future(request, timeout=seconds, metadata=metadata)
        with trio.move_on_after(seconds + _GUARD_MARGIN):
            try:
                return await await_grpc_future(future)
            except grpc.RpcError as exc:
                raise translate_rpc_error(exc, self.client_url, seconds) from exc
            except grpc.FutureCancelledError as exc:
                # Only close() cancels our futures behind our back.
                raise StorageUnavailable(f"etcd at {self.client_url}: connection closed") from exc
        future.cancel()
        raise StorageUnavailable(f"etcd at {self.client_url}: no answer within {seconds:g} s")

    def close(self) -> None:
        self._channel.close()
        if self._directory_fd is not None:
            os.close(self._directory_fd)
            self._directory_fd = None
