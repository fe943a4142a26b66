"""A daemon serves short-lived clients indefinitely (issue: refused after 250 connections).

Thousands of short-lived clients, each a new node and peer id (as the CLI, the library's
``*_service`` calls and Go proxies are), against one long-running daemon, then against a
3-instance cluster. What each client leaves behind must be released or bounded: RSS,
open files, the peerstore and the routing table (read from the daemon's own metrics).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import trio
from cluster_fixtures import Cluster
from interop.js_peer import PEER_DIR, check_installed
from registry_process import RegistryProcess

from adapters.libp2p.peer_janitor import GRACE, SWEEP_INTERVAL
from application.client import get_service
from domain.psk import psk_from_passphrase
from entrypoints import library
from entrypoints.library import client_node

SEQUENTIAL = 2000
CONCURRENT = 200
JS_CLIENTS = 500
RSS_ALLOWANCE_KB = 5 * 1024
HALF_WAY = 1000
# Figures a daemon may hold however many clients came and went (none are connected now).
PEERSTORE_BOUND = 10
ROUTING_TABLE_BOUND = 10


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def libp2p_figures(prom_port: int, ip: str = "127.0.0.1") -> dict[str, float]:
    text = urllib.request.urlopen(f"http://{ip}:{prom_port}/metrics", timeout=5).read().decode()
    return {
        name.removeprefix("registry_libp2p_"): float(value)
        for name, value in (line.split() for line in text.splitlines()
                            if line.startswith("registry_libp2p_"))
    }


def wait_for_forgotten_peers(prom_port: int, ip: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + GRACE + SWEEP_INTERVAL + 10
    while (figures := libp2p_figures(prom_port, ip))["peerstore_peers"] > PEERSTORE_BOUND:
        assert time.monotonic() < deadline, figures
        time.sleep(0.5)


def timed_gets(bootstraps: list[str], psk: bytes, count: int) -> tuple[list[float], list[str]]:
    """``count`` gets one after another, each on a new short-lived node."""
    seconds, failures = [], []
    for _ in range(count):
        started = time.perf_counter()
        try:
            library.get_service_blocking(bootstraps, psk, "svc")
        except Exception as exc:
            failures.append(repr(exc)[:300])
        seconds.append(time.perf_counter() - started)
    return seconds, failures


def concurrent_gets(bootstraps: list[str], psk: bytes, count: int) -> list[str]:
    """``count`` short-lived clients at once, from this one process.

    Their handshakes all run on this process's one core: on a loaded machine the
    library's 5 s connect timeout can pass before the daemon is even asked. What is
    tested is that the daemon serves them all, so they get 60 s to connect.
    """
    failures: list[str] = []

    async def one() -> None:
        try:
            await library.get_service(bootstraps, psk, "svc")
        except Exception as exc:
            failures.append(repr(exc)[:300])

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(one)

    patience = pytest.MonkeyPatch()
    patience.setattr(client_node, "BOOTSTRAP_TIMEOUT", 60.0)
    try:
        trio.run(main)
    finally:
        patience.undo()
    return failures


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    proc = RegistryProcess(tmp_path_factory.mktemp("endurance")).start()
    library.add_service_blocking(proc.addrs, psk_from_passphrase(proc.passphrase or ""), "svc",
                                 library.ServiceInfo(content_hash="QmEndurance"))
    yield proc
    proc.stop()


def daemon_cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def test_two_thousand_short_lived_clients_leave_the_daemon_as_it_was(daemon) -> None:
    """RSS after 2 000 clients ≤ RSS after the first 100 + 5 MB (the issue's goal).

    Each connection's objects are freed when it closes (upstream/connection_cycles.py);
    before that they waited for the cyclic GC and the heap rose by 4-6 MB over the
    first ~600 clients. Measured since: +0.3 to +0.7 MB from client 100 to 2 000.
    """
    psk = psk_from_passphrase(daemon.passphrase or "")
    pid = daemon.process.pid
    cpu_start = daemon_cpu_s(pid)
    first, failed_first = timed_gets(daemon.addrs, psk, 100)
    cpu_first = (daemon_cpu_s(pid) - cpu_start) / 100
    rss_after_100 = rss_kb(pid)
    files_after_100 = open_files(pid)
    _, failed_warm = timed_gets(daemon.addrs, psk, HALF_WAY - 100)
    rss_half_way = rss_kb(pid)
    _, failed_rest = timed_gets(daemon.addrs, psk, SEQUENTIAL - HALF_WAY - 100)
    cpu_before_last = daemon_cpu_s(pid)
    last, failed_last = timed_gets(daemon.addrs, psk, 100)
    cpu_last = (daemon_cpu_s(pid) - cpu_before_last) / 100
    figures = libp2p_figures(daemon.prom_port)
    rss_end = rss_kb(pid)
    print(f"RSS after 100 clients {rss_after_100} kB, after {HALF_WAY} {rss_half_way} kB, "
          f"after {SEQUENTIAL} {rss_end} kB")
    print(f"daemon CPU per get: first 100 {cpu_first * 1000:.2f} ms, last 100 "
          f"{cpu_last * 1000:.2f} ms; wall median {statistics.median(first) * 1000:.1f} / "
          f"{statistics.median(last) * 1000:.1f} ms")

    failed = failed_first + failed_warm + failed_rest + failed_last
    assert failed == [], failed[:3]
    assert rss_end <= rss_after_100 + RSS_ALLOWANCE_KB, (rss_after_100, rss_half_way, rss_end)
    assert open_files(pid) <= files_after_100 + 5
    assert figures["peerstore_peers"] <= PEERSTORE_BOUND, figures
    assert figures["routing_table_peers"] <= ROUTING_TABLE_BOUND, figures
    assert figures["refused_connections_total"] == 0, figures
    # The daemon's CPU per client, last 100 against the first 100: what clients left
    # behind in it would show there. (Not the wall time of a get: that is mostly the
    # client's own handshake in this process, and moves with the machine's other load.)
    assert cpu_last <= 1.2 * cpu_first + 0.0002, (cpu_first, cpu_last)


def test_two_hundred_concurrent_clients_are_all_served(daemon) -> None:
    psk = psk_from_passphrase(daemon.passphrase or "")
    failures = concurrent_gets(daemon.addrs, psk, CONCURRENT)
    assert failures == [], failures[:3]
    after_one_burst = rss_kb(daemon.process.pid)
    failures = concurrent_gets(daemon.addrs, psk, CONCURRENT)
    assert failures == [], failures[:3]
    assert rss_kb(daemon.process.pid) <= after_one_burst + RSS_ALLOWANCE_KB
    assert libp2p_figures(daemon.prom_port)["refused_connections_total"] == 0
    # ...and every one of them released its slot.
    deadline = time.monotonic() + 10
    while libp2p_figures(daemon.prom_port)["inbound_connections"] > 0:
        assert time.monotonic() < deadline, libp2p_figures(daemon.prom_port)
        time.sleep(0.1)


def js_gets(addr: str, passphrase: str, count: int) -> None:
    """``count`` js-libp2p clients one after another, each a new peer; all must be served."""
    run = subprocess.run(
        ["node", "--import", "./polyfill.mjs", "short_lived_clients.mjs",
         "--addr", addr, "--count", str(count), "--name", "svc", "--passphrase", passphrase],
        cwd=PEER_DIR, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert (result["ok"], result["failed"]) == (count, 0), result["firstError"]


def test_five_hundred_js_libp2p_clients_each_a_new_peer_are_all_served(daemon) -> None:
    check_installed()
    pid = daemon.process.pid
    rss_before = rss_kb(pid)
    js_gets(daemon.addrs[0], daemon.passphrase or "", JS_CLIENTS)
    # What the daemon learnt of each (identify: addresses, keys, protocols) is forgotten
    # once the peer has been gone for the janitor's grace period.
    wait_for_forgotten_peers(daemon.prom_port)
    assert rss_kb(pid) <= rss_before + RSS_ALLOWANCE_KB
    assert daemon.alive()


def test_a_client_past_the_connection_limit_is_told_so_and_the_others_go_on(tmp_path) -> None:
    proc = RegistryProcess(tmp_path / "limited",
                           extra_args=["--max-inbound-connections", "2"]).start()
    psk = psk_from_passphrase(proc.passphrase or "")
    try:
        library.add_service_blocking(proc.addrs, psk, "svc",
                                     library.ServiceInfo(content_hash="QmLimited"))

        async def main() -> tuple[str, str]:
            async with library.registry_client(proc.addrs, psk) as one, \
                    library.registry_client(proc.addrs, psk) as two:
                for client in (one, two):
                    await get_service(client, "svc")
                cli = await trio.to_thread.run_sync(proc.cli, "get", "svc")
                # The two connections already served keep working.
                for client in (one, two):
                    assert (await get_service(client, "svc")).content_hash == "QmLimited"
                return cli.stderr, str(cli.returncode)
            raise AssertionError("unreachable")

        stderr, code = trio.run(main)
        assert code == "4", stderr
        assert "at its connection limit (--max-inbound-connections)" in stderr, stderr
        assert libp2p_figures(proc.prom_port)["refused_connections_total"] >= 1
        assert "refused an inbound connection: all 2 slots are in use" in proc.log_file.read_text()
        # Slots free again: served as before.
        assert proc.cli("get", "svc").returncode == 0
    finally:
        proc.stop()


def test_a_three_instance_cluster_serves_short_lived_clients_through_every_instance(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path)
    try:
        instances = [cluster.add_instance() for _ in range(3)]
        psk = psk_from_passphrase(instances[0].proc.passphrase or "")
        library.add_service_blocking(instances[0].proc.addrs, psk, "svc",
                                     library.ServiceInfo(content_hash="QmCluster"))
        def one_round(sequential: int) -> None:
            for instance in instances:  # each instance its own bootstrap: all three serve
                _, failures = timed_gets(instance.proc.addrs, psk, sequential)
                assert failures == [], failures[:3]
            failures = concurrent_gets(cluster.addrs, psk, CONCURRENT)
            assert failures == [], failures[:3]

        one_round(100)  # the first clients and a burst: what a serving daemon holds anyway
        before = {i.name: rss_kb(i.proc.process.pid) for i in instances}
        for _ in range(2):
            one_round(200)
        check_installed()
        for instance in instances:
            js_gets(instance.proc.addrs[0], instance.proc.passphrase or "", JS_CLIENTS // 3 + 1)
        for instance in instances:
            figures = libp2p_figures(instance.proc.prom_port, instance.proc.ip)
            assert figures["refused_connections_total"] == 0, (instance.name, figures)
            wait_for_forgotten_peers(instance.proc.prom_port, instance.proc.ip)
            assert figures["routing_table_peers"] <= ROUTING_TABLE_BOUND, (instance.name, figures)
            assert rss_kb(instance.proc.process.pid) <= before[instance.name] + RSS_ALLOWANCE_KB
    finally:
        cluster.stop_all()
