"""Idle footprint of a registry-service against its import floor, in one run (issue 27).

Run: .venv/bin/python benchmarks/scale_footprint.py [--rounds 3] [--idle 5]
                                                    [--before-tree DIR] [--gets 400]
                                                    [--idle-cpu 10]

Each round, alternating so that load from elsewhere hits all alike:
  - the import floor: a process that imports, the lean way (``lean_import.py``), the
    libraries the daemon runs: py-libp2p (host, Noise, Yamux, Kad-DHT), trio, etcd3,
    prometheus_client and msgspec; nothing is run;
  - the daemon's own imports: every module ``registry-service`` imports to serve, the
    same lean way, nothing run;
  - an idle daemon (its own etcd member, fresh data dir, one record), ``--idle``
    seconds after it serves; its etcd member's RSS beside it.
With ``--before-tree DIR`` (e.g. ``git archive 13a04f5 | tar -x -C DIR``), the daemon
from that tree (put first on ``PYTHONPATH``) beside this one: idle RSS, start to
serving, the CPU it and its etcd member spend over ``--idle-cpu`` seconds idle (the
daemon's cluster watch: a few etcd calls every 0.25 s), and gets through each (one
stream, a new stream per get), alternating.

``footprint_rows()`` returns the table rows (``benchmarks/bench_scale.py`` imports it);
``smaps_breakdown()`` groups a process's resident memory by mapping.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT))

from registry_process import RegistryProcess  # noqa: E402

GOAL = 1.15  # the idle daemon's RSS over the import floor's

_RSS = "int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])"
ISSUE_FLOOR = (
    "from adapters.libp2p.upstream.lean_import import activate; activate()\n"
    "import libp2p, libp2p.kad_dht.kad_dht, libp2p.security.noise.transport\n"
    "import libp2p.stream_muxer.yamux.yamux, trio, etcd3, prometheus_client, msgspec\n"
)
DAEMON_IMPORTS = (
    "from entrypoints.service.lean_daemon import load_lean; load_lean(http=False)\n"
    "import entrypoints.service.main, entrypoints.service.daemon\n"
    "import entrypoints.service.container, adapters.libp2p.node\n"
)


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def idle_cpu_percent(pid: int, seconds: float) -> tuple[float, float]:
    """(the daemon's, its etcd member's) CPU over ``seconds`` with no client, % of a core."""
    etcd = [child for child in children(pid)
            if Path(f"/proc/{child}/comm").read_text().strip() == "etcd"]
    before = [cpu_seconds(p) for p in [pid, *etcd]]
    started = time.monotonic()
    time.sleep(seconds)
    spent = [cpu_seconds(p) - b for p, b in zip([pid, *etcd], before, strict=True)]
    elapsed = time.monotonic() - started
    return spent[0] / elapsed * 100, sum(spent[1:]) / elapsed * 100


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def smaps_breakdown(pid: int) -> Counter[str]:
    """Resident kB by mapping: each shared object by name, [heap], anonymous, stacks."""
    out: Counter[str] = Counter()
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            path = head[5] if len(head) > 5 else ""
            if path.startswith("/"):
                name = path.split("site-packages/")[-1].split("/")[0] if "site-packages/" in path \
                    else Path(path).name
            else:
                name = path or "anonymous"
        elif line.startswith("Rss:"):
            out[name] += int(line.split()[1])
    return out


def _held_process(code: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A Python process that runs ``code``, says so, and waits for its stdin to close."""
    script = code + "import sys\nprint('ready', flush=True)\nsys.stdin.read()\n"
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the import floor process failed: {code!r}")
    return process


def imported_kb(code: str) -> tuple[int, Counter[str]]:
    """RSS of a process that ran ``code`` (imports) and nothing else, and its breakdown."""
    process = _held_process(code)
    try:
        return rss_kb(process.pid), smaps_breakdown(process.pid)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(10)


def start_daemon(work: Path, env: dict[str, str] | None = None) -> tuple[RegistryProcess, float]:
    started = time.perf_counter()
    daemon = RegistryProcess(work, env=env or {}).start()
    return daemon, time.perf_counter() - started


def add_one_record(daemon: RegistryProcess) -> bytes:
    from domain.psk import psk_from_passphrase
    from entrypoints import library

    psk = psk_from_passphrase(daemon.passphrase or "")
    library.add_service_blocking(daemon.addrs, psk, "svc",
                                 library.ServiceInfo(content_hash="QmFootprint"))
    return psk


def idle_daemon_kb(work: Path, idle_seconds: float,
                   env: dict[str, str] | None = None) -> dict[str, object]:
    """An idle daemon's RSS, its etcd member's, its threads and breakdown; start to serving."""
    daemon, start_s = start_daemon(work, env)
    try:
        add_one_record(daemon)
        time.sleep(idle_seconds)
        pid = daemon.process.pid if daemon.process else 0
        etcd = [rss_kb(child) for child in children(pid)
                if Path(f"/proc/{child}/comm").read_text().strip() == "etcd"]
        return {"rss": rss_kb(pid), "etcd": sum(etcd), "start_s": start_s,
                "threads": len(os.listdir(f"/proc/{pid}/task")),
                "breakdown": smaps_breakdown(pid)}
    finally:
        daemon.stop()


def gets_per_second(daemon: RegistryProcess, psk: bytes, count: int) -> tuple[float, float]:
    """Gets through one kept-open client, a new stream each (the daemon's get path):
    gets/s, and the daemon's CPU ms per get (robust to load from elsewhere)."""
    import psutil
    import trio

    from application.client import get_service
    from entrypoints.library import registry_client

    async def run() -> float:
        async with registry_client(daemon.addrs, psk) as client:
            for _ in range(20):
                await get_service(client, "svc")
            started = time.perf_counter()
            for _ in range(count):
                await get_service(client, "svc")
            return count / (time.perf_counter() - started)

    server = psutil.Process(daemon.process.pid if daemon.process else 0)
    cpu_before = sum(server.cpu_times()[:2])
    rate = trio.run(run)
    cpu_ms = (sum(server.cpu_times()[:2]) - cpu_before) * 1000 / (count + 20)
    return rate, cpu_ms


def _mb(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def footprint_rows(rounds: int = 3, idle_seconds: float = 5.0,
                   log: Callable[[str], None] = lambda _: None) -> list[dict[str, str]]:
    """Rows (measure, goal, result, ratio) of the idle footprint, medians of ``rounds``."""
    floors, daemon_imports, idle, etcd, threads = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
        for i in range(rounds):
            floors.append(imported_kb(ISSUE_FLOOR)[0])
            daemon_imports.append(imported_kb(DAEMON_IMPORTS)[0])
            figures = idle_daemon_kb(Path(tmp) / f"idle-{i}", idle_seconds)
            idle.append(figures["rss"])
            etcd.append(figures["etcd"])
            threads.append(figures["threads"])
            log(f"round {i + 1}: floor {_mb(floors[-1])} MB, daemon's imports "
                f"{_mb(daemon_imports[-1])} MB, idle daemon {_mb(idle[-1])} MB, "
                f"etcd {_mb(etcd[-1])} MB")
    floor, own, daemon = (statistics.median(x) for x in (floors, daemon_imports, idle))
    return [
        {"measure": "idle daemon / import floor (lean py-libp2p, trio, etcd3, "
                    "prometheus_client, msgspec)",
         "goal": f"≤ {GOAL}x", "result": f"{_mb(daemon)} vs {_mb(floor)} MB",
         "ratio": f"{daemon / floor:.2f}x"},
        {"measure": "the daemon's own imports, lean, nothing run / import floor",
         "goal": "report", "result": f"{_mb(own)} vs {_mb(floor)} MB",
         "ratio": f"{own / floor:.2f}x"},
        {"measure": "idle daemon / the daemon's own imports (its state at run time)",
         "goal": "report", "result": f"{_mb(daemon)} vs {_mb(own)} MB (+{_mb(daemon - own)})",
         "ratio": f"{daemon / own:.2f}x"},
        {"measure": "its etcd member, idle", "goal": "report",
         "result": f"{_mb(statistics.median(etcd))} MB; daemon threads "
                   f"{statistics.median(threads):.0f}", "ratio": "-"},
    ]


def before_after_rows(before_tree: Path, rounds: int, idle_seconds: float, gets: int,
                      log: Callable[[str], None] = lambda _: None,
                      idle_cpu_seconds: float = 10.0) -> list[dict[str, str]]:
    """This tree's daemon against ``before_tree``'s: idle RSS and CPU, start to serving,
    get rate."""
    sides = {"before": {"PYTHONPATH": str(before_tree)}, "after": {}}
    rss: dict[str, list[int]] = {side: [] for side in sides}
    starts: dict[str, list[float]] = {side: [] for side in sides}
    rates: dict[str, list[float]] = {side: [] for side in sides}
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    idle_cpu: dict[str, list[float]] = {side: [] for side in sides}
    etcd_cpu: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="footprint-ab-") as tmp:
        for i in range(rounds):
            # ABBA: whichever side goes second in a round has gone first in the one before.
            for side in (["before", "after"] if i % 2 == 0 else ["after", "before"]):
                daemon, start_s = start_daemon(Path(tmp) / f"{side}-{i}", sides[side])
                try:
                    psk = add_one_record(daemon)
                    time.sleep(idle_seconds)
                    pid = daemon.process.pid if daemon.process else 0
                    rss[side].append(rss_kb(pid))
                    daemon_cpu, member_cpu = idle_cpu_percent(pid, idle_cpu_seconds)
                    idle_cpu[side].append(daemon_cpu)
                    etcd_cpu[side].append(member_cpu)
                    rate, cpu_ms = gets_per_second(daemon, psk, gets)
                    rates[side].append(rate)
                    cpu[side].append(cpu_ms)
                    starts[side].append(start_s)
                finally:
                    daemon.stop()
                log(f"round {i + 1} {side}: RSS {_mb(rss[side][-1])} MB, start "
                    f"{starts[side][-1]:.2f} s, idle CPU {idle_cpu[side][-1]:.2f} % "
                    f"(etcd {etcd_cpu[side][-1]:.2f} %), {rates[side][-1]:.0f} gets/s, "
                    f"{cpu[side][-1]:.2f} daemon CPU ms/get")

    def med(values: dict[str, list]) -> tuple[float, float]:
        return statistics.median(values["after"]), statistics.median(values["before"])

    (ra, rb), (sa, sb), (ga, gb), (ca, cb) = med(rss), med(starts), med(rates), med(cpu)
    (ia, ib), (ea, eb) = med(idle_cpu), med(etcd_cpu)
    return [
        {"measure": "idle daemon RSS, after / before", "goal": "lower",
         "result": f"{_mb(ra)} vs {_mb(rb)} MB", "ratio": f"{ra / rb:.2f}x"},
        {"measure": "idle daemon CPU, % of a core, after / before (its etcd member beside)",
         "goal": "lower", "result": f"{ia:.2f} vs {ib:.2f} % (etcd {ea:.2f} vs {eb:.2f} %)",
         "ratio": f"{ia / ib:.2f}x (etcd {ea / eb:.2f}x)"},
        {"measure": "daemon start to serving, after / before", "goal": "≤ 1.0x",
         "result": f"{sa:.2f} vs {sb:.2f} s", "ratio": f"{sa / sb:.2f}x"},
        {"measure": "gets through the daemon (one client, a new stream each), after / before",
         "goal": "≥ 1.0x", "result": f"{ga:.0f} vs {gb:.0f} gets/s", "ratio": f"{ga / gb:.2f}x"},
        {"measure": "the daemon's CPU per get, after / before", "goal": "≤ 1.0x",
         "result": f"{ca:.2f} vs {cb:.2f} ms", "ratio": f"{ca / cb:.2f}x"},
    ]


def breakdown_rows(idle_seconds: float = 5.0, top: int = 14) -> list[dict[str, str]]:
    """Where an idle daemon's RSS is, mapping by mapping, beside the daemon's own imports."""
    _, own = imported_kb(DAEMON_IMPORTS)
    with tempfile.TemporaryDirectory(prefix="footprint-map-") as tmp:
        daemon = idle_daemon_kb(Path(tmp) / "idle", idle_seconds)["breakdown"]
    assert isinstance(daemon, Counter)
    names = sorted(set(own) | set(daemon), key=lambda n: -daemon.get(n, 0))[:top]
    return [{"mapping": name, "idle daemon": _mb(daemon.get(name, 0)),
             "imports only": _mb(own.get(name, 0)),
             "difference": _mb(daemon.get(name, 0) - own.get(name, 0))} for name in names]


def format_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(row[k] for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading")
    parser.add_argument("--before-tree", type=Path, help="a checkout to compare against")
    parser.add_argument("--gets", type=int, default=400, help="gets per side and round")
    parser.add_argument("--idle-cpu", type=float, default=10.0,
                        help="with --before-tree: seconds of idle CPU measured per side and round")
    parser.add_argument("--breakdown", action="store_true", help="also RSS by mapping")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = footprint_rows(args.rounds, args.idle, log=lambda s: print(s, flush=True))
    if args.before_tree:
        rows += before_after_rows(args.before_tree.resolve(), args.rounds, args.idle,
                                  args.gets, log=lambda s: print(s, flush=True),
                                  idle_cpu_seconds=args.idle_cpu)
    print(format_table(rows))
    if args.breakdown:
        print(format_table(breakdown_rows(args.idle)))
    print(f"load average after: {os.getloadavg()}")


def rows() -> list[dict[str, str]]:
    """For benchmarks/bench_scale.py."""
    return footprint_rows()


if __name__ == "__main__":
    main()
