"""Throwaway real etcd members for tests: loopback, free ports, a temporary data dir.

Use ``throwaway_etcd(directory)`` as an async context manager, or import the
``etcd_member`` fixture into a test module (``from etcd_fixtures import etcd_member``).
tests/integration is on sys.path (its conftest, and pytest's rootdir insertion).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from adapters.etcd.process import EtcdProcess, EtcdStartFailed
from domain.cluster import EtcdEndpoint

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_endpoint(host: str = LOOPBACK) -> EtcdEndpoint:
    # Hold both sockets while choosing, so the two ports differ.
    with socket.socket() as client, socket.socket() as peer:
        client.bind((host, 0))
        peer.bind((host, 0))
        return EtcdEndpoint(
            ip=host, client_port=client.getsockname()[1], peer_port=peer.getsockname()[1]
        )


def etcd_process(
    directory: Path, endpoint: EtcdEndpoint | None = None, **kwargs: Any
) -> EtcdProcess:
    """An EtcdProcess (not started) with its data dir and log under ``directory``."""
    endpoint = endpoint or free_endpoint()
    return EtcdProcess(endpoint, directory / f"etcd-{endpoint.member_name}", **kwargs)


@asynccontextmanager
async def throwaway_etcd(
    directory: Path, *, attempts: int = 3, **kwargs: Any
) -> AsyncIterator[EtcdProcess]:
    """A started single-member etcd (new cluster), stopped on exit.

    Free ports can be taken by someone else between choosing and binding; then
    another pair is tried. ``kwargs`` go to EtcdProcess.
    """
    for attempt in range(attempts):
        process = etcd_process(directory, **kwargs)
        try:
            await process.start()
            break
        except EtcdStartFailed as exc:
            if "address already in use" not in str(exc) or attempt == attempts - 1:
                raise
    try:
        yield process
    finally:
        with trio.CancelScope(shield=True):
            await process.stop()


@pytest.fixture
async def etcd_member(tmp_path: Path) -> AsyncIterator[EtcdProcess]:
    async with throwaway_etcd(tmp_path) as process:
        yield process
