"""Many connected clients, each following the registry (issue 27), and past the limits.

The load generator of benchmarks/bench_scale.py (benchmarks/watch_load.py) at a small N:
real py-libp2p client hosts, each with its own peer id, PSK, Noise and Yamux connection
and one `/watch/0.1` on the whole registry, in worker processes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import trio
from registry_process import RegistryProcess
from test_endurance import libp2p_figures

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_scale import PASSPHRASE, Probe, with_probe
from watch_load import WatchLoad

CLIENTS = 50
PAST_UPSTREAM_DEFAULT = 300
PUTS = 5


def watch_figures(prom_port: int) -> dict[str, float]:
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/metrics", timeout=5).read()
    return {
        name: float(value)
        for name, value in (line.split() for line in text.decode().splitlines()
                            if line.startswith(("registry_watchers ", "registry_watches_")))
    }


def test_fifty_clients_each_on_its_own_connection_all_follow_every_put(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "scale", passphrase=PASSPHRASE).start()
    try:
        with WatchLoad(proc.addrs[0], PASSPHRASE, CLIENTS) as load:
            assert load.start_status.served == CLIENTS, load.start_status
            assert libp2p_figures(proc.prom_port)["inbound_connections"] >= CLIENTS
            assert watch_figures(proc.prom_port)["registry_watchers"] == CLIENTS

            async def puts(probe: Probe) -> dict[str, float]:
                return {f"load-{n}": await probe.put(f"load-{n}") for n in range(PUTS)}

            acked = trio.run(with_probe, proc.addrs[0], puts)
            arrivals = load.arrivals(set(acked), timeout=60)
            assert {name: len(times) for name, times in arrivals.items()} == dict.fromkeys(
                acked, CLIENTS)
            # Every event came after its put was acknowledged, and within seconds.
            delays = [t - acked[name] for name, times in arrivals.items() for t in times]
            assert 0 < max(delays) < 30, max(delays)
            assert load.status().ended == 0
        assert proc.alive()
    finally:
        proc.stop()


def test_more_clients_than_py_libp2p_s_default_of_256_inbound_connections_are_all_served(
    tmp_path: Path,
) -> None:
    """py-libp2p's resource manager dropped the 257th connection (upstream/connection_limits)."""
    proc = RegistryProcess(tmp_path / "past-256", passphrase=PASSPHRASE).start()
    try:
        with WatchLoad(proc.addrs[0], PASSPHRASE, PAST_UPSTREAM_DEFAULT) as load:
            assert load.start_status.served == PAST_UPSTREAM_DEFAULT, load.start_status
            acked = trio.run(with_probe, proc.addrs[0], lambda probe: probe.put("load-300"))
            arrivals = load.arrivals({"load-300"}, timeout=60)["load-300"]
            assert len(arrivals) == PAST_UPSTREAM_DEFAULT
            assert min(arrivals) > acked - 1  # (the event may overtake the ack a little)
        assert "ADDCONN_DENY" not in proc.log_file.read_text()
    finally:
        proc.stop()


def test_at_twice_the_limits_new_clients_are_refused_with_a_reason_and_the_served_go_on(
    tmp_path: Path,
) -> None:
    """Limits of 10 watches and 21 connections (the probe's and 20); 42 clients come.

    The first 10 are served; the next 10 connect but their watches are refused with an
    ERROR naming --max-watches; the last 21 (the connection limit reached) are refused in
    the security negotiation. The 10 served go on getting every put, and the daemon's
    memory does not grow with what it refuses.
    """
    watches, connections = 10, 21
    proc = RegistryProcess(
        tmp_path / "limited", passphrase=PASSPHRASE,
        extra_args=["--max-watches", str(watches),
                    "--max-inbound-connections", str(connections)],
    ).start()
    pid = proc.process.pid  # type: ignore[union-attr]
    try:
        async def scenario(probe: Probe) -> None:
            await probe.put("load-before")
            served = WatchLoad(proc.addrs[0], PASSPHRASE, watches, prefix="load-")
            over_watches = WatchLoad(proc.addrs[0], PASSPHRASE, watches)
            over_connections = WatchLoad(proc.addrs[0], PASSPHRASE, connections)
            try:
                status = await trio.to_thread.run_sync(served.start)
                assert status.served == watches, status
                rss_served = psutil.Process(pid).memory_info().rss

                status = await trio.to_thread.run_sync(over_watches.start)
                assert status.watch_refused == watches, status
                assert "watch limit reached" in status.errors[0], status.errors
                assert "(--max-watches)" in status.errors[0], status.errors

                status = await trio.to_thread.run_sync(over_connections.start)
                assert status.connection_refused == connections, status
                assert "connection-limit" in status.errors[0], status.errors

                # Those served go on: every one gets the next puts.
                acked = {name: await probe.put(name) for name in ("load-after-1", "load-after-2")}
                arrivals = await trio.to_thread.run_sync(served.arrivals, set(acked), 60.0)
                assert {n: len(t) for n, t in arrivals.items()} == dict.fromkeys(acked, watches)
                assert served.status().ended == 0
                # Refusing costs no lasting memory (a refused watch and connection hold none).
                grown = psutil.Process(pid).memory_info().rss - rss_served
                assert grown < 8 * 1024 * 1024, grown
                assert (await probe.get("load-before")) < 10
            finally:
                for load in (over_connections, over_watches, served):
                    load.stop()

        trio.run(with_probe, proc.addrs[0], scenario)
        assert proc.alive()
        figures = watch_figures(proc.prom_port)
        assert figures["registry_watches_refused_total"] == watches, figures
        assert libp2p_figures(proc.prom_port)["refused_connections_total"] >= connections
        log = proc.log_file.read_text()
        assert f"refused a watch: all {watches} watch slots are in use (--max-watches)" in log
        # Once the clients are gone, the slots are free again.
        deadline = time.monotonic() + 15
        while watch_figures(proc.prom_port)["registry_watchers"] > 0:
            assert time.monotonic() < deadline, watch_figures(proc.prom_port)
            time.sleep(0.2)
        with WatchLoad(proc.addrs[0], PASSPHRASE, watches) as again:
            assert again.start_status.served == watches, again.start_status
    finally:
        proc.stop()
