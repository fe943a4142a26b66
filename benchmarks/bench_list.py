"""list of many services: whole process and in-process, against get and a direct etcd range.

Run: .venv/bin/python benchmarks/bench_list.py [--services 10000] [--rounds 7]

In one run, on loopback, with a real registry-service (own etcd member) holding
--services entries (written straight into its etcd, in transactions of 100):
  - cold `registry-cli list --json` against a cold `registry-cli get` of one record
  - in-process: list through a RegistryClient kept open, against a direct
    python-etcd3 range of the same keys (all keys, as the daemon's own load does)
  - peak RSS of the list and get processes; the daemon's RSS before and after
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import etcd3
import psutil
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cold_start import CLI, NAME, PASSPHRASE, add_entry, client_env
from cold_process import alternate, load_average
from registry_process import RegistryProcess

from adapters.etcd.keyspace import ALL_KEYS
from application import client as use_cases
from domain import PerfInd, ServiceInfo, encode_service_info, psk_from_passphrase
from entrypoints import library
from entrypoints.common.local_etcd import local_etcd


def etcd_client(daemon: RegistryProcess) -> etcd3.Etcd3Client:
    """python-etcd3 on the daemon's own member: its client API is a unix socket."""
    member = local_etcd(etcd_ip=daemon.ip, etcd_client_port=daemon.etcd_client_port,
                        etcd_peer_port=daemon.etcd_peer_port, etcd_data_dir=daemon.data_dir)
    # python-etcd3 dials "<host>:<port>": exactly gRPC's unix:/dir/client.sock:PORT.
    host, port = member.client_url.rsplit(":", 1)
    return etcd3.client(host=host, port=int(port), timeout=30)


def fill(daemon: RegistryProcess, count: int) -> None:
    client = etcd_client(daemon)
    value = encode_service_info(ServiceInfo(
        content_hash="Qm" + "y" * 44, docker_hash="127.0.0.1:5000/s@sha256:" + "b" * 64,
        network_soft_req=PerfInd.from_millis(20), cpu_req=2, memory_req=128))
    try:
        for start in range(0, count, 100):
            client.transaction(compare=[], success=[
                client.transactions.put(f"svc-{i:05d}", value)
                for i in range(start, min(count, start + 100))], failure=[])
    finally:
        client.close()


def direct_range(daemon: RegistryProcess, rounds: int) -> list[float]:
    client = etcd_client(daemon)
    times = []
    try:
        for _ in range(rounds + 1):
            started = time.perf_counter()
            request = etcd3.etcdrpc.RangeRequest(**ALL_KEYS)
            response = client.kvstub.Range(request, client.timeout)
            assert response.kvs
            times.append(time.perf_counter() - started)
    finally:
        client.close()
    return times[1:]  # the first one connects


async def kept_open_lists(addr: str, rounds: int, expected: int) -> list[float]:
    times = []
    async with library.registry_client([addr], psk_from_passphrase(PASSPHRASE)) as client:
        for _ in range(rounds + 1):
            started = time.perf_counter()
            entries = await use_cases.list_services(client)
            times.append(time.perf_counter() - started)
            assert len(entries) == expected, len(entries)
    return times[1:]  # the first one looks the provider up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-list-"))
    daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE).start()
    try:
        print(f"load average before: {load_average()}")
        add_entry(daemon, NAME)
        assert daemon.process is not None
        daemon_rss = [psutil.Process(daemon.process.pid).memory_info().rss]
        fill(daemon, args.services)
        expected = args.services + 1
        deadline = time.monotonic() + 60
        psk = psk_from_passphrase(PASSPHRASE)
        while len(library.list_services_blocking(daemon.addrs, psk)) != expected:
            assert time.monotonic() < deadline, "the daemon's copy did not catch up"
            time.sleep(0.5)
        flags = [CLI, "--bootstrap", daemon.addrs[0], "--psk", PASSPHRASE]
        cold = alternate({"registry-cli get": [*flags, "get", NAME],
                          "registry-cli list --json": [*flags, "--json", "list"]},
                         args.rounds, client_env())
        rss = {name: peak_rss(flags, cmd) for name, cmd in
               (("get", ["get", NAME]), ("list --json", ["--json", "list"]))}
        inproc = trio.run(kept_open_lists, daemon.addrs[0], args.rounds * 3, expected)
        direct = direct_range(daemon, args.rounds * 3)
        daemon_rss.append(psutil.Process(daemon.process.pid).memory_info().rss)
        print(f"load average after: {load_average()}")
    finally:
        daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    get, lst = cold["registry-cli get"], cold["registry-cli list --json"]
    print(f"\n{args.services + 1} services; medians of {args.rounds} alternating rounds")
    for name, t in cold.items():
        print(f"{name:<28}{t.wall_median * 1000:>8.0f} ms wall {t.cpu_median * 1000:>7.0f} ms CPU"
              f"   peak RSS {rss['get' if 'get' in name else 'list --json']:.0f} MB")
    ratio = lst.wall_median / get.wall_median
    print(f"goal cold list --json <= 1.5x cold get: {ratio:.2f}x "
          f"{'met' if ratio <= 1.5 else 'not met'} (CPU {lst.cpu_median / get.cpu_median:.2f}x)")
    ours, base = statistics.median(inproc), statistics.median(direct)
    print(f"in-process list, RegistryClient kept open: {ours * 1000:.1f} ms; direct etcd range "
          f"of the same keys: {base * 1000:.1f} ms")
    print(f"goal in-process <= 2x direct etcd range: {ours / base:.2f}x "
          f"{'met' if ours <= 2 * base else 'not met'}")
    print(f"daemon RSS: {daemon_rss[0] / 1e6:.0f} MB with 1 service, "
          f"{daemon_rss[1] / 1e6:.0f} MB with {args.services + 1} after the lists")


def peak_rss(flags: list[str], command: list[str]) -> float:
    import os
    import subprocess

    process = subprocess.Popen([*flags, *command], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=client_env())
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss / 1024  # KiB on Linux


if __name__ == "__main__":
    main()
