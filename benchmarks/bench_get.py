"""get through registry-service over libp2p+PSK, against the transport's ceiling and etcd.

Run: .venv/bin/python benchmarks/bench_get.py [--requests N]
Starts, in this run: a registry-service (own etcd member), a bare py-libp2p
echo server on the same stack and PSK, and measures from one client host:
  - get via the daemon, 1 and 32 concurrent streams (new stream per request), as our
    client sends it (pipelined multistream-select, adapters/libp2p/pipelined_request.py)
  - the echo baseline, same concurrency and response size, on the bare py-libp2p stack
    at both ends (its Yamux, its multistream-select, its lock-step client)
  - get via a second daemon with --etcd-plaintext-peers (the pre-TLS baseline)
  - direct etcd gets from Python (python-etcd3 API) against the daemon's etcd
  - cold `registry-cli get` vs `python -c 'import libp2p'` vs `etcdctl get`
  - get via a daemon with --writers-file vs the one without (bench_writers_list.py)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio
from libp2p.custom_types import TProtocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from bare_stack import use_bare_stack
from bench_etcd_direct import measure_direct_gets
from bench_writers_list import compare_writers_list, report_writers_list
from registry_process import VENV_BIN, RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.pipelined_request import (
    read_pipelined_reply,
    reads_past_early_close,
    send_pipelined,
)
from adapters.libp2p.stream_io import read_to_end
from domain import PerfInd, ServiceInfo, encode_service_info, parse_bootstrap, psk_from_passphrase
from domain.wire import GetResponse, encode
from entrypoints import library
from entrypoints.common.local_etcd import local_etcd

PASSPHRASE = "benchmark passphrase"
NAME = "bench-service"
INFO = ServiceInfo(content_hash="Qm" + "x" * 44, docker_hash="127.0.0.1:5000/b@sha256:" + "a" * 64,
                   network_soft_req=PerfInd.from_millis(100), cpu_req=1, memory_req=64)


async def _one(host, peer_id, protocol: str, payload: bytes,  # type: ignore[no-untyped-def]
               pipelined: bool = False) -> float:
    """One request on a new stream: py-libp2p's lock-step way, or our client's (pipelined)."""
    started = time.perf_counter()
    if pipelined:
        close = reads_past_early_close(host, peer_id)
        stream = await send_pipelined(host, peer_id, protocol, payload, close=close)
        await read_pipelined_reply(stream, protocol, 1 << 20, closed=close)
    else:
        stream = await host.new_stream(peer_id, [TProtocol(protocol)])
        await stream.write(payload)
        await stream.close_write()
        await read_to_end(stream, 1 << 20)
    await stream.close()
    return time.perf_counter() - started


async def load(addr: str, protocol: str, payload: bytes, total: int, concurrency: int,
               pipelined: bool = False) -> dict:
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(PASSPHRASE),
                            dht_server=False)
    async with running_node(settings) as node:
        boot = parse_bootstrap(addr)
        failures = await connect_bootstraps(node, [boot], 5)
        assert not failures, failures
        peer = node.host.get_peerstore().peer_ids()  # noqa: F841  (warm the peerstore)
        from libp2p.peer.id import ID

        peer_id = ID.from_base58(boot.peer_id)
        for _ in range(50):  # warm-up
            await _one(node.host, peer_id, protocol, payload, pipelined)
        latencies: list[float] = []
        per_worker = total // concurrency

        async def worker() -> None:
            for _ in range(per_worker):
                latencies.append(await _one(node.host, peer_id, protocol, payload, pipelined))

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def with_server_cpu(pid: int, *load_args: object) -> dict:
    """One load round, plus the server process's CPU per request (robust to load elsewhere:
    1000 / cpu_ms_per_request is what one dedicated core would serve)."""
    import psutil

    server = psutil.Process(pid)
    before = sum(server.cpu_times()[:2])
    result = trio.run(load, *load_args)
    result["server_cpu_ms"] = (sum(server.cpu_times()[:2]) - before) * 1000 / load_args[3]
    return result


def cold(argv: list[str], runs: int, env: dict | None = None, cwd: Path | None = None) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, env=env, cwd=cwd)
        times.append(time.perf_counter() - t)
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {out.stderr.decode()[-500:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3200)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writers-list-only", action="store_true",
                        help="only compare get with and without --writers-file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-get-"))
    daemon = RegistryProcess(work / "registry", passphrase=PASSPHRASE).start()
    # The same daemon as before peer TLS (issue 10), started in this run as the baseline.
    plain = RegistryProcess(work / "plain-peers", passphrase=PASSPHRASE,
                            extra_args=["--etcd-plaintext-peers"]).start()
    psk = psk_from_passphrase(PASSPHRASE)
    library.add_service_blocking(daemon.addrs, psk, NAME, INFO)
    library.add_service_blocking(plain.addrs, psk, NAME, INFO)
    body_size = len(encode(GetResponse(info_str=encode_service_info(INFO), lookup_ok=True)))
    echo = subprocess.Popen([sys.executable, str(Path(__file__).with_name("echo_server.py")),
                             PASSPHRASE, str(body_size)], stdout=subprocess.PIPE, text=True)
    echo_addr = echo.stdout.readline().strip()  # type: ignore[union-attr]
    results: dict[str, dict] = {}
    if args.writers_list_only:
        echo.kill()
        try:
            report_writers_list(compare_writers_list(
                work, PASSPHRASE, daemon,
                lambda d, key: library.add_service_blocking(d.addrs, psk, NAME, INFO, keyfile=key),
                load, NAME, args.requests, args.rounds))
        finally:
            daemon.stop()
        return
    try:
        # Rounds alternate echo and get so that load from elsewhere on the
        # machine hits both alike; each figure is the median round.
        for conc in (1, 32):
            rounds: dict[str, list[dict]] = {"echo": [], "get": [], "get-plain": []}
            for _ in range(args.rounds):
                use_bare_stack(True)
                rounds["echo"].append(with_server_cpu(echo.pid, echo_addr,
                                                      "/bench-echo/0.1", NAME.encode(),
                                                      args.requests, conc, False))
                use_bare_stack(False)
                rounds["get"].append(with_server_cpu(daemon.process.pid, daemon.addrs[0],
                                                     "/get/0.1", NAME.encode(),
                                                     args.requests, conc, True))
                rounds["get-plain"].append(with_server_cpu(plain.process.pid, plain.addrs[0],
                                                           "/get/0.1", NAME.encode(),
                                                           args.requests, conc, True))
            for kind, runs in rounds.items():
                results[f"{kind} c={conc}"] = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
            # Adjacent rounds share the machine's load of the moment: their ratio is steadier.
            pairs = [t["rps"] / p["rps"] for t, p in zip(rounds["get"], rounds["get-plain"],
                                                          strict=True)]
            print(f"get TLS peers / plaintext peers c={conc}, per round: "
                  f"{[round(r, 3) for r in pairs]}, median {statistics.median(pairs):.3f}")
        member = local_etcd(etcd_ip=daemon.ip, etcd_client_port=daemon.etcd_client_port,
                            etcd_peer_port=daemon.etcd_peer_port, etcd_data_dir=daemon.data_dir)
        client_url = member.client_url
        direct = measure_direct_gets(client_url, NAME, args.requests)
        results["etcd direct c=1"] = {"rps": direct["gets_per_s"], "p50_ms": direct["p50_ms"],
                                      "p99_ms": direct["p99_ms"]}
        cli_env = {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}
        cold_times = {
            "python -c 'import libp2p'": cold([sys.executable, "-c", "import libp2p"],
                                              args.cold_runs),
            "registry-cli get": cold([str(VENV_BIN / "registry-cli"), "--bootstrap",
                                      daemon.addrs[0], "--psk", PASSPHRASE, "get", NAME],
                                     args.cold_runs, cli_env),
            # etcdctl resolves unix://NAME:PORT in its working directory, the data dir.
            "etcdctl get": cold(["etcdctl", "--endpoints",
                                 f"unix://client.sock:{daemon.etcd_client_port}", "get", NAME],
                                args.cold_runs, dict(os.environ, ETCDCTL_API="3"),
                                cwd=member.data_dir),
            "registry-cli get, wrong passphrase": cold_fail(daemon, args.cold_runs, cli_env),
        }
        results.update(compare_writers_list(
            work, PASSPHRASE, daemon,
            lambda d, key: library.add_service_blocking(d.addrs, psk, NAME, INFO, keyfile=key),
            load, NAME, args.requests, args.rounds))
    finally:
        echo.kill()
        daemon.stop()
        plain.stop()
    report(results, cold_times)
    report_writers_list(results)


def cold_fail(daemon: RegistryProcess, runs: int, env: dict) -> float:
    times = []
    for _ in range(runs // 2 or 1):
        t = time.perf_counter()
        out = subprocess.run([str(VENV_BIN / "registry-cli"), "--bootstrap", daemon.addrs[0],
                              "--psk", "wrong", "get", NAME], capture_output=True, env=env)
        times.append(time.perf_counter() - t)
        assert out.returncode != 0
    return statistics.median(times)


def report(results: dict[str, dict], cold_times: dict[str, float]) -> None:
    print(f"{'case':<20}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'server CPU ms/req':>19}")
    for name, r in results.items():
        cpu = f"{r['server_cpu_ms']:>19.3f}" if "server_cpu_ms" in r else ""
        print(f"{name:<20}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{cpu}")
    for conc in (1, 32):
        ratio = results[f"get c={conc}"]["rps"] / results[f"echo c={conc}"]["rps"]
        print(f"get/echo throughput ratio c={conc}: {ratio:.2f}  (issue 12 goal >= 1.5)")
        cpu = results[f"echo c={conc}"]["server_cpu_ms"] / results[f"get c={conc}"]["server_cpu_ms"]
        print(f"  server capacity per CPU-second, get/echo c={conc}: {cpu:.2f}")
    for conc in (1, 32):
        ratio = results[f"get c={conc}"]["rps"] / results[f"get-plain c={conc}"]["rps"]
        print(f"get TLS peers / plaintext peers c={conc}: {ratio:.3f}  (goal >= 0.95)")
    ratio = results["get c=1"]["rps"] / results["etcd direct c=1"]["rps"]
    print(f"get c=1 / direct etcd get: {ratio:.2f}")
    floor = cold_times["python -c 'import libp2p'"]
    for name, t in cold_times.items():
        print(f"cold {name:<38}{t * 1000:>8.0f} ms  ({t / floor:.2f}x import libp2p)")


if __name__ == "__main__":
    main()
