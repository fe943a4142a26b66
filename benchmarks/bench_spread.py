"""How clients spread over three instances, and what a get costs, before and after.

Run: .venv/bin/python benchmarks/bench_spread.py [--gets 300] [--cold-runs 10]
Starts three registry-services on 127.0.0.1-3 (one etcd cluster). "before" is the
client code of the `main` branch (extracted with `git archive` and put first on
PYTHONPATH), "after" this tree's; both run against the same instances, in
alternating rounds, so that load from elsewhere hits both alike. Reports:
  - the share of gets each instance served (its /metrics), with every instance
    given as a bootstrap;
  - the network time of one get through the library (warm interpreter);
  - the time of a cold `registry-cli get` with one bootstrap and with three.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from cluster_fixtures import PASSPHRASE, PSK, _free_ports
from registry_process import RegistryProcess

from domain import ServiceInfo
from entrypoints import library

ROOT = Path(__file__).resolve().parents[1]
NAME = "bench-spread"
INFO = ServiceInfo(content_hash="QmBenchSpread", docker_hash="r/b@sha256:00", cpu_req=1)

LIBRARY_GETS = """
import statistics, sys, time
from domain import psk_from_passphrase
from entrypoints import library
psk = psk_from_passphrase(sys.argv[1])
count, name, boots = int(sys.argv[2]), sys.argv[3], sys.argv[4:]
library.get_service_blocking(boots, psk, name)  # warm-up: imports, first key
times = []
for _ in range(count):
    t = time.perf_counter()
    library.get_service_blocking(boots, psk, name)
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"""
CLI = "import sys; sys.argv[0] = 'registry-cli'; from entrypoints.cli.main import run; run()"


def checkout_main(into: Path) -> Path:
    archive = into / "main.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), "main"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "main", filter="data")
    return into / "main"


def gets_served(proc: RegistryProcess) -> float:
    text = urllib.request.urlopen(
        f"http://{proc.ip}:{proc.prom_port}/metrics", timeout=5
    ).read().decode()
    match = re.search(r'^registry_requests_total\{operation="get",outcome="ok"\} ([0-9.e+]+)$',
                      text, re.M)
    return float(match[1]) if match else 0.0


def start_three(root: Path) -> list[RegistryProcess]:
    started: list[RegistryProcess] = []
    for index in range(3):
        ip = f"127.0.0.{index + 1}"
        listen, client, peer, prom = _free_ports(ip, 4)
        boots = [a for p in started for a in p.addrs]
        started.append(RegistryProcess(
            root / f"i{index}", passphrase=PASSPHRASE, ip=ip, new_cluster=not boots,
            bootstraps=boots, listen_port=listen, etcd_client_port=client,
            etcd_peer_port=peer, prom_port=prom,
        ).start(timeout=120))
    return started


def run_variant(code_dir: Path, instances: list[RegistryProcess], gets: int,
                cold_runs: int) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}
    env["PYTHONPATH"] = str(code_dir)
    boots = [a for p in instances for a in p.addrs]
    before = [gets_served(p) for p in instances]
    out = subprocess.run([sys.executable, "-c", LIBRARY_GETS, PASSPHRASE, str(gets), NAME,
                          *boots], capture_output=True, text=True, env=env, check=True)
    served = [gets_served(p) - b for p, b in zip(instances, before, strict=True)]
    return {
        "split": [s / sum(served) for s in served],
        "library_get_s": float(out.stdout.strip()),
        "cold_one_s": cold(env, instances[0].addrs, cold_runs),
        "cold_three_s": cold(env, boots, cold_runs),
    }


def cold(env: dict[str, str], boots: list[str], runs: int) -> float:
    argv = [sys.executable, "-c", CLI, "--psk", PASSPHRASE]
    for b in boots:
        argv += ["--bootstrap", b]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([*argv, "get", NAME], capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gets", type=int, default=300)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-spread-"))
    variants = {"before (main)": checkout_main(work), "after": ROOT}
    instances = start_three(work)
    try:
        library.add_service_blocking(instances[0].addrs, PSK, NAME, INFO)
        results: dict[str, list[dict[str, object]]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, code_dir in variants.items():
                results[name].append(run_variant(code_dir, instances, args.gets // args.rounds,
                                                 args.cold_runs))
    finally:
        for proc in instances:
            proc.stop()
    report(results)


def report(results: dict[str, list[dict[str, object]]]) -> None:
    summary: dict[str, dict[str, float | list[float]]] = {}
    for name, rounds in results.items():
        splits = [r["split"] for r in rounds]
        summary[name] = {
            "split": [statistics.mean(s[i] for s in splits) for i in range(3)],  # type: ignore[index]
            **{key: statistics.median(float(r[key]) for r in rounds)  # type: ignore[arg-type]
               for key in ("library_get_s", "cold_one_s", "cold_three_s")},
        }
    print(f"{'client':<16}{'split i1/i2/i3':>22}{'library get':>14}{'cold, 1 boot':>14}"
          f"{'cold, 3 boots':>15}")
    for name, s in summary.items():
        split = "/".join(f"{x:.0%}" for x in s["split"])  # type: ignore[union-attr]
        print(f"{name:<16}{split:>22}{s['library_get_s'] * 1000:>11.1f} ms"  # type: ignore[operator]
              f"{s['cold_one_s'] * 1000:>11.0f} ms{s['cold_three_s'] * 1000:>12.0f} ms")  # type: ignore[operator]
    before, after = summary["before (main)"], summary["after"]
    for key in ("library_get_s", "cold_one_s", "cold_three_s"):
        print(f"after/before {key}: {after[key] / before[key]:.2f}")  # type: ignore[operator]


if __name__ == "__main__":
    main()
