"""Several real registry-services (each with its own etcd member) forming one cluster.

Instance i listens on 127.0.0.<i+1> (all of 127.0.0.0/8 is local on Linux), with
fixed ports so that a killed instance restarts at the same addresses.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import trio
from registry_process import RegistryProcess

from adapters.etcd.connection import EtcdConnection
from adapters.etcd.membership import EtcdClusterMembership
from adapters.etcd.repository import EtcdServiceRepository
from adapters.etcd.status import fetch_status
from application.ports import StorageUnavailable
from domain.cluster import EtcdEndpoint, EtcdMember
from domain.psk import psk_from_passphrase
from entrypoints.common.local_etcd import local_etcd

PASSPHRASE = "cluster test passphrase"
PSK = psk_from_passphrase(PASSPHRASE)
# Short enough for a test to watch an unstarted member being removed.
GRACE = 4.0


def _ip(index: int) -> str:
    return f"127.0.0.{index + 1}"


def _free_ports(host: str, count: int) -> list[int]:
    """Distinct free ports: all sockets stay bound until every port is chosen."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Instance:
    proc: RegistryProcess
    start_seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.endpoint.member_name

    @property
    def endpoint(self) -> EtcdEndpoint:
        p = self.proc
        return EtcdEndpoint(ip=p.ip, client_port=p.etcd_client_port, peer_port=p.etcd_peer_port)

    @property
    def client_url(self) -> str:
        """The member's unix socket, found the way every registry-service command finds it."""
        return local_etcd(etcd_ip=self.proc.ip, etcd_client_port=self.proc.etcd_client_port,
                          etcd_peer_port=self.proc.etcd_peer_port,
                          etcd_data_dir=self.proc.data_dir).client_url

    @property
    def peer_id(self) -> str:
        return self.proc.addrs[0].rsplit("/", 1)[1]

    def etcd_pid(self) -> int | None:
        """Our etcd child (started in its own session, still our child)."""
        if not self.proc.alive():
            return None
        assert self.proc.process is not None
        for child in psutil.Process(self.proc.process.pid).children():
            if child.name() == "etcd":
                return child.pid
        return None

    def kill(self) -> None:
        """A machine crash: SIGKILL the daemon and its etcd at once."""
        etcd = self.etcd_pid()
        assert self.proc.process is not None
        self.proc.process.kill()
        if etcd is not None:
            os.kill(etcd, signal.SIGKILL)
        self.proc.process.wait(10)
        wait_for_pid_exit(etcd, 10)

    def metrics(self) -> dict[str, float]:
        url = f"http://{self.proc.ip}:{self.proc.prom_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        found: dict[str, float] = {}
        for line in text.splitlines():
            match = re.match(r"^(registry_etcd_\w+) ([0-9.e+-]+)$", line)
            if match:
                found[match[1]] = float(match[2])
        return found

    def log(self) -> str:
        return self.proc.log_file.read_text(errors="replace")


@dataclass
class Cluster:
    root: Path
    instances: list[Instance] = field(default_factory=list)

    def add_instance(self, *, extra_args: tuple[str, ...] = ()) -> Instance:
        index = len(self.instances)
        ip = _ip(index)
        listen, client, peer, prom = _free_ports(ip, 4)
        proc = RegistryProcess(
            self.root / f"i{index}",
            passphrase=PASSPHRASE,
            ip=ip,
            new_cluster=index == 0,
            bootstraps=[a for i in self.instances for a in i.proc.addrs],
            listen_port=listen,
            etcd_client_port=client,
            etcd_peer_port=peer,
            prom_port=prom,
            extra_args=["--unstarted-member-grace", str(GRACE), *extra_args],
        )
        instance = Instance(proc)
        started = time.monotonic()
        proc.start(timeout=120)
        instance.start_seconds = time.monotonic() - started
        self.instances.append(instance)
        return instance

    def restart(self, instance: Instance, timeout: float = 60) -> float:
        """Start a stopped instance again on its data dir; returns seconds until serving."""
        instance.proc.bootstraps = [a for i in self.instances if i is not instance
                                    for a in i.proc.addrs]
        started = time.monotonic()
        instance.proc.start(timeout=timeout)
        return time.monotonic() - started

    @property
    def addrs(self) -> list[str]:
        return [a for i in self.instances if i.proc.alive() for a in i.proc.addrs]

    def by_peer_id(self, peer_id: str) -> Instance:
        return next(i for i in self.instances if i.peer_id == peer_id)

    def stop_all(self) -> None:
        for instance in self.instances:
            if instance.proc.process is not None and instance.proc.alive():
                # A test may have left it SIGSTOPped: it would not hear SIGTERM then.
                os.kill(instance.proc.process.pid, signal.SIGCONT)
            instance.proc.stop()


def wait_for_pid_exit(pid: int | None, within: float) -> float:
    """Seconds until ``pid`` has gone; AssertionError after ``within``."""
    started = time.monotonic()
    if pid is None:
        return 0.0
    while psutil.pid_exists(pid):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        assert time.monotonic() - started < within, f"pid {pid} still alive after {within} s"
        time.sleep(0.05)
    return time.monotonic() - started


def wait_until(check: Callable[[], bool], within: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"{what}: not within {within} s"
        time.sleep(0.2)
    return time.monotonic() - started


# --- talking to one member's etcd directly (what the test checks against) -------------


def run(async_fn: Callable[..., object], *args: object) -> object:
    return trio.run(async_fn, *args)  # type: ignore[arg-type]


async def members_of(instance: Instance) -> list[EtcdMember]:
    membership = EtcdClusterMembership(instance.client_url, timeout=3.0)
    try:
        return await membership.list_members()
    finally:
        membership.close()


async def local_entries(instance: Instance) -> dict[str, str]:
    """Everything this member holds, read from its own copy (serializable)."""
    reader = EtcdServiceRepository(
        instance.client_url, timeout=5.0, serializable=True
    )
    try:
        return await reader.list()
    finally:
        reader.close()


async def healthy(instance: Instance) -> bool:
    membership = EtcdClusterMembership(instance.client_url, timeout=2.0)
    try:
        return await membership.is_healthy()
    finally:
        membership.close()


async def leader_id(instance: Instance) -> int:
    connection = EtcdConnection(instance.client_url, timeout=2.0)
    try:
        return int((await fetch_status(connection, require_leader=False)).leader_id)
    except StorageUnavailable:
        return 0
    finally:
        connection.close()


def all_healthy(cluster: Cluster) -> bool:
    def check() -> bool:
        return all(run(healthy, i) for i in cluster.instances)

    return check()


def iter_alive(cluster: Cluster) -> Iterator[Instance]:
    return (i for i in cluster.instances if i.proc.alive())


async def make_leader(cluster: Cluster, target: Instance) -> None:
    """Hand etcd leadership to ``target`` (MoveLeader must be sent to the current leader)."""
    from etcd3 import etcdrpc

    [me] = [m for m in await members_of(target) if m.name == target.name]
    for instance in iter_alive(cluster):
        connection = EtcdConnection(instance.client_url, timeout=5.0)
        try:
            status = await fetch_status(connection)
            if status.is_leader and status.member_id != me.member_id:
                await connection.call(
                    connection.maintenance.MoveLeader,
                    etcdrpc.MoveLeaderRequest(targetID=me.member_id),
                )
        finally:
            connection.close()
    with trio.fail_after(10):
        while await leader_id(target) != me.member_id:
            await trio.sleep(0.1)


@contextmanager
def three_instances(root: Path) -> Iterator[Cluster]:
    """A 3-instance cluster for a test module, stopped at the end whatever happens."""
    if shutil.which("etcd") is None:
        raise RuntimeError("etcd is not installed: run scripts/setup.sh (Debian etcd-server)")
    cluster = Cluster(root)
    try:
        for _ in range(3):
            cluster.add_instance()
        wait_until(lambda: all_healthy(cluster), 60, "three healthy members")
        yield cluster
    finally:
        cluster.stop_all()


def bring_back_every_instance(cluster: Cluster) -> None:
    """Restart what a test that failed half-way left down, so that one failure is reported
    once, not again by every test after it; then wait for all members healthy."""
    for instance in cluster.instances:
        if not instance.proc.alive():
            cluster.restart(instance, timeout=120)
    wait_until(lambda: all_healthy(cluster), 30, "three healthy members before the test")
