"""Three real registry-services, each in its own network namespace (see netns_fixtures).

Inside its namespace every instance has the same fixed ports (its own port
space), 10.77.0.<i+1> as its address, and a probe client (partition_probe.py)
that asks it directly. The test process itself is outside: it reaches the
instances only through ``ip netns exec`` (probes, etcdctl, registry-cli).
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netns_fixtures import NetnsLab, Node, netns_lab
from registry_process import VENV_BIN, RegistryProcess

PASSPHRASE = "partition test passphrase"
ETCD_TIMEOUT = 3.0
_PROBE = Path(__file__).with_name("partition_probe.py")


@dataclass
class NetnsRegistryProcess(RegistryProcess):
    netns: str = ""

    def argv(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *super().argv()]


class Probe:
    """A partition_probe.py client in ``node``'s namespace, asking one instance."""

    def __init__(self, node: Node, bootstrap: str) -> None:
        self.node = node
        self.process = subprocess.Popen(
            node.argv(sys.executable, str(_PROBE), PASSPHRASE, bootstrap),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self._lock = threading.Lock()
        ready = self._read()
        if not ready.get("ready"):
            raise RuntimeError(f"probe in {node.netns} did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"probe in {self.node.netns} exited")
        return dict(json.loads(line))

    def ask(self, **command: Any) -> dict[str, Any]:
        with self._lock:
            assert self.process.stdin is not None
            started = time.monotonic()
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
            answer = self._read()
            answer["started"] = started
            answer["ended"] = time.monotonic()
            return answer

    def put(self, name: str, value: int) -> dict[str, Any]:
        return self.ask(op="put", name=name, value=value)

    def get(self, name: str) -> dict[str, Any]:
        return self.ask(op="get", name=name)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Write:
    seq: int
    name: str
    started: float
    ended: float
    ok: bool
    error: str | None


class SteadyWriter:
    """Writes w-<seq> = seq through ``probe`` every ``interval`` s, in a thread."""

    def __init__(self, probe: Probe, prefix: str, interval: float = 0.1) -> None:
        self.probe, self.prefix, self.interval = probe, prefix, interval
        self.writes: list[Write] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        seq = 0
        while not self._stop.is_set():
            seq += 1
            name = f"{self.prefix}-{seq:05d}"
            answer = self.probe.put(name, seq)
            self.writes.append(Write(seq, name, answer["started"], answer["ended"],
                                     answer["ok"], answer["error"]))
            self._stop.wait(self.interval)

    @property
    def acknowledged(self) -> list[Write]:
        return [w for w in self.writes if w.ok]

    def last_acknowledged(self) -> Write | None:
        acked = self.acknowledged
        return acked[-1] if acked else None


@dataclass
class PartitionCluster:
    lab: NetnsLab
    root: Path
    procs: list[NetnsRegistryProcess] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    # A second client per instance, for a request made while the first one waits.
    second_probes: list[Probe] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)  # for every instance

    @property
    def nodes(self) -> list[Node]:
        return self.lab.nodes

    def start(self) -> None:
        for node in self.nodes:
            proc = NetnsRegistryProcess(
                self.root / f"i{node.index}",
                passphrase=PASSPHRASE,
                ip=node.ip,
                new_cluster=node.index == 0,
                bootstraps=[a for p in self.procs for a in p.addrs],
                listen_port=4001,
                etcd_client_port=2379,
                etcd_peer_port=2380,
                prom_port=9102,
                extra_args=["--etcd-timeout", str(ETCD_TIMEOUT), *self.extra_args],
                netns=node.netns,
            )
            proc.start(timeout=120)
            self.procs.append(proc)
        self.probes = [Probe(node, self.procs[node.index].addrs[0]) for node in self.nodes]
        self.second_probes = [Probe(n, self.procs[n.index].addrs[0]) for n in self.nodes]

    def stop(self) -> None:
        for probe in self.probes + self.second_probes:
            probe.close()
        for proc in self.procs:
            proc.stop()

    # --- looking at etcd from inside a namespace -------------------------------------

    def etcdctl(
        self, node: Node, *args: str, timeout: float = 10
    ) -> subprocess.CompletedProcess[str]:
        # A member whose clients use a unix socket in its data dir is asked there.
        socket_name = self.client_socket(node)
        endpoint = f"unix://{socket_name}" if socket_name else f"http://{node.ip}:2379"
        return node.run("etcdctl", "--endpoints", endpoint,
                        "--dial-timeout=2s", "--command-timeout=3s", *args,
                        check=False, timeout=timeout,
                        cwd=self.procs[node.index].data_dir if socket_name else None)

    def client_socket(self, node: Node) -> str | None:
        """The name of the unix socket the member takes clients on, in its data dir (run
        a client there), or None: it listens on ``node.ip``:2379."""
        name = "client.sock:2379"
        return name if (self.procs[node.index].data_dir / name).exists() else None

    def local_entries(self, node: Node) -> dict[str, str]:
        """Everything this member holds in its own copy (serializable read)."""
        result = self.etcdctl(node, "get", "", "--prefix", "--consistency=s", "-w", "json")
        if result.returncode != 0:
            raise RuntimeError(f"etcdctl get on {node.ip}: {result.stderr.strip()}")
        kvs = json.loads(result.stdout).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode()
                for kv in kvs}

    def healthy(self, node: Node) -> bool:
        return self.etcdctl(node, "endpoint", "health").returncode == 0

    def leader(self, within: float = 30) -> Node:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for node in self.nodes:
                result = self.etcdctl(node, "endpoint", "status", "-w", "json")
                if result.returncode != 0:
                    continue
                [status] = json.loads(result.stdout)
                # (protobuf's JSON leaves out zero values: no "leader" while there is none)
                leader = status["Status"].get("leader")
                if leader and leader == status["Status"]["header"]["member_id"]:
                    return node
            time.sleep(0.3)
        raise AssertionError(f"no etcd leader among the members within {within} s")

    def follower(self) -> Node:
        leader = self.leader()
        return next(n for n in self.nodes if n is not leader)

    def wait_all_healthy(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while not all(self.healthy(n) for n in self.nodes):
            assert time.monotonic() < deadline, f"cluster not healthy within {within} s"
            time.sleep(0.3)
        # and every instance has noticed (its reads are no longer marked stale)
        for probe in self.probes:
            while (answer := probe.get("settle")) ["stale"] or not answer["ok"]:
                assert time.monotonic() < deadline, f"{probe.node.ip} still stale"
                time.sleep(0.3)

    def replicas(self) -> list[dict[str, str]]:
        return [self.local_entries(n) for n in self.nodes]

    def cli(self, node: Node, bootstrap: Node, *args: str,
            timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], float]:
        """registry-cli inside ``node``'s namespace, bootstrapping to ``bootstrap`` only."""
        argv = node.argv(str(VENV_BIN / "registry-cli"), "--psk", PASSPHRASE,
                         *(a for addr in self.procs[bootstrap.index].addrs
                           for a in ("--bootstrap", addr)), *args)
        started = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return result, time.monotonic() - started


@contextlib.contextmanager
def partition_cluster(root: Path, size: int = 3,
                      prefix: str | None = None) -> Iterator[PartitionCluster]:
    with netns_lab(size, **({} if prefix is None else {"prefix": prefix})) as lab:
        cluster = PartitionCluster(lab, root)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
