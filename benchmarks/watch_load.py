"""Load generator: N real libp2p client hosts, each following the whole registry.

Each client is its own py-libp2p host with its own peer id (Ed25519), its own TCP
connection (PSK, Noise, Yamux) to one registry-service, and one `/watch/0.1` stream
asking for every record (`{}`), as a proxy with a watch-fed view holds. Many clients
share a worker process (one trio loop); there are as many worker processes as cores.
Each worker stamps the arrival of every PUT with CLOCK_MONOTONIC, which all processes on
the machine share, so the parent can time a put from its acknowledgement to each client.

Used by benchmarks/bench_scale.py and tests/integration/test_scale_watchers.py:

    with WatchLoad(addr, passphrase, clients=100) as load:
        status = load.status()                   # served / refused / failed watches
        ...put "load-1"...
        arrivals = load.arrivals({"load-1"}, timeout=30)   # name -> [monotonic times]

With ``since`` and ``until``, each client resumes from revision ``since``
(`{"SinceRevision": since}`) and counts as served once it has seen revision ``until``
(SYNCED after a RESET, or the replayed change itself).

A worker: `watch_load.py --worker ADDR COUNT PASSPHRASE PREFIX SINCE UNTIL` reads commands
on stdin ("report", or end of input to stop) and answers each with one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Handshakes in flight per worker: more only queue on the one core the daemon has.
CONNECTS_IN_FLIGHT = 8
CONNECT_TIMEOUT = 60.0
STARTUP_TIMEOUT = 600.0


@dataclass
class LoadStatus:
    clients: int = 0
    served: int = 0  # watches that got their SYNCED line
    connection_refused: int = 0  # the instance refused the connection (connection limit)
    watch_refused: int = 0  # an ERROR line in place of the snapshot (watch limit)
    failed: int = 0  # anything else
    ended: int = 0  # served watches that ended since (ERROR, reset, EOF)
    errors: list[str] = field(default_factory=list)

    def add(self, part: dict[str, Any]) -> None:
        for name in ("clients", "served", "connection_refused", "watch_refused", "failed",
                     "ended"):
            setattr(self, name, getattr(self, name) + part[name])
        self.errors += part["errors"][: max(0, 5 - len(self.errors))]


class WatchLoad:
    """``clients`` watching clients against the instance at ``addr``, in worker processes."""

    def __init__(self, addr: str, passphrase: str, clients: int, *, processes: int | None = None,
                 prefix: str = "load-", since: int = 0, until: int = 0) -> None:
        self.addr = addr
        self.passphrase = passphrase
        self.clients = clients
        self.processes = max(1, min(processes or os.cpu_count() or 1, clients))
        self.prefix = prefix
        self.since, self.until = since, until
        self._workers: list[subprocess.Popen[str]] = []
        self.start_status = LoadStatus()
        self._arrivals: dict[str, list[float]] = defaultdict(list)

    def __enter__(self) -> WatchLoad:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    def start(self) -> LoadStatus:
        """Start the workers; return once every client is served or has failed."""
        shares = [self.clients // self.processes + (i < self.clients % self.processes)
                  for i in range(self.processes)]
        for share in shares:
            self._workers.append(subprocess.Popen(
                [sys.executable, __file__, "--worker", self.addr, str(share), self.passphrase,
                 self.prefix, str(self.since), str(self.until)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            ))
        status = LoadStatus()
        for worker in self._workers:
            status.add(self._read(worker))
        self.start_status = status
        return status

    def status(self) -> LoadStatus:
        """How the clients stand now (also collects the arrivals so far)."""
        status = LoadStatus()
        for worker in self._workers:
            assert worker.stdin is not None
            worker.stdin.write("report\n")
            worker.stdin.flush()
        for worker in self._workers:
            part = self._read(worker)
            for name, stamps in part["arrivals"].items():
                self._arrivals[name] += stamps
            status.add(part)
        return status

    def arrivals(self, names: set[str], timeout: float) -> dict[str, list[float]]:
        """Arrival times by name, once every served client has each name (or at timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            served = self.status().served
            if all(len(self._arrivals.get(n, [])) >= served for n in names) \
                    or time.monotonic() > deadline:
                return {n: list(self._arrivals.get(n, [])) for n in names}
            time.sleep(0.2)

    def stop(self) -> None:
        for worker in self._workers:
            try:
                assert worker.stdin is not None
                worker.stdin.close()
                worker.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                worker.kill()
                worker.wait()
        self._workers.clear()

    @staticmethod
    def _read(worker: subprocess.Popen[str]) -> dict[str, Any]:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if not line:
            raise RuntimeError(f"load worker {worker.pid} ended (exit {worker.wait()})")
        return json.loads(line)


# --- worker process -----------------------------------------------------------------------


async def _worker(addr: str, count: int, passphrase: str, prefix: str, since: int = 0,
                  until: int = 0) -> None:
    import logging

    import msgspec
    import trio
    from libp2p.custom_types import TProtocol

    from adapters.libp2p.identity import ephemeral_identity
    from adapters.libp2p.node import NodeSettings, build_host, peer_info_of
    from adapters.libp2p.upstream.inbound_slots import REFUSAL_LINE, is_connection_limit_refusal
    from domain import parse_bootstrap, psk_from_passphrase
    from domain.watch_wire import WATCH_PROTOCOL, WatchEvent

    logging.getLogger("libp2p").setLevel(logging.CRITICAL)  # a refusal is counted, not logged
    target = peer_info_of(parse_bootstrap(addr))
    psk = psk_from_passphrase(passphrase)
    decoder = msgspec.json.Decoder(WatchEvent)
    request = b'{"SinceRevision":%d}' % since if since else b"{}"
    counts = dict.fromkeys(("served", "connection_refused", "watch_refused", "failed", "ended"),
                           0)
    errors: list[str] = []
    arrivals: dict[str, list[float]] = defaultdict(list)
    connecting = trio.Semaphore(CONNECTS_IN_FLIGHT)
    settled = trio.Event()
    pending = count

    def settle(mine: dict[str, bool], outcome: str, error: str | None = None) -> None:
        nonlocal pending
        if mine["settled"]:  # each client settles once
            return
        mine["settled"] = True
        counts[outcome] += 1
        if error and len(errors) < 5:
            errors.append(error[:300])
        pending -= 1
        if pending == 0:
            settled.set()

    async def follow(stream: Any, mine: dict[str, bool]) -> None:
        buffer, synced = b"", False
        while True:
            try:
                chunk = await stream.read(65536)
            except Exception:
                chunk = b""
            if not chunk:
                if synced:
                    counts["ended"] += 1
                else:
                    settle(mine, "failed", "watch stream ended before SYNCED")
                return
            now = time.monotonic()
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event = decoder.decode(line)
                caught_up = bool(until) and (event.revision or 0) >= until
                if (event.type == "SYNCED" or caught_up) and not synced:
                    synced = True
                    settle(mine, "served")
                elif event.type == "PUT" and synced and (event.name or "").startswith(prefix):
                    arrivals[event.name or ""].append(now)
                elif event.type == "ERROR":
                    if synced:
                        counts["ended"] += 1
                    elif "--max-watches" in (event.error or ""):
                        settle(mine, "watch_refused", event.error)
                    else:
                        settle(mine, "failed", event.error)
                    return

    async def client() -> None:
        mine = {"settled": False}
        settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk, dht_server=False,
                                graceful_close=False)
        host = build_host(settings)
        try:
            async with host.run(listen_addrs=[]):
                async with connecting:
                    with trio.fail_after(CONNECT_TIMEOUT):
                        await host.connect(target)
                        stream = await host.new_stream(target.peer_id,
                                                       [TProtocol(WATCH_PROTOCOL)])
                        await stream.write(request)
                        await stream.close_write()
                await follow(stream, mine)
                await trio.sleep_forever()  # keep the connection, as a proxy would
        except Exception as exc:
            if is_connection_limit_refusal(exc):
                settle(mine, "connection_refused", f"refused: {REFUSAL_LINE.decode()}")
            else:
                settle(mine, "failed", repr(exc))


    def report() -> str:
        part = {"clients": count, **counts, "errors": errors,
                "arrivals": {k: v for k, v in arrivals.items()}}
        arrivals.clear()
        return json.dumps(part)

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(client)
        if count:
            await settled.wait()
        print(report(), flush=True)
        while await trio.to_thread.run_sync(sys.stdin.readline):
            print(report(), flush=True)
        nursery.cancel_scope.cancel()


def main() -> None:
    if len(sys.argv) == 8 and sys.argv[1] == "--worker":
        import trio

        addr, count, passphrase, prefix, since, until = sys.argv[2:]
        trio.run(_worker, addr, int(count), passphrase, prefix, int(since), int(until))
        os._exit(0)  # hosts' cleanup of hundreds of connections is not worth waiting for
    print(__doc__)


if __name__ == "__main__":
    main()
