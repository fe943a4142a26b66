"""Network namespaces for partition tests: one private bridge, one namespace per node.

Everything lives in namespaces this module creates; the host's own network
namespace gets no interface, address, route or iptables rule:

- ``<lab>-br`` holds the bridge ``br0`` (no address, layer 2 only). A fresh
  namespace's FORWARD policy is ACCEPT, so Docker's host-wide FORWARD DROP and
  br_netfilter do not apply to it;
- ``<lab>-<i>`` holds ``lo`` and ``eth0`` (a veth to the bridge, created there
  directly) with 10.77.0.<i+1>/24. There is no default route: nothing can leave.

Partitions are iptables DROP rules in the cut node's own namespace (chain
``PARTITION``); a slow, lossy link is NFQUEUE plus ``link_delay.py`` (this
kernel has no sch_netem). Lab names carry the creating pid, so a sweep at start
removes what a killed earlier run left behind, and nothing of a live run.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PREFIX = "rgpart"
SUBNET = "10.77.0"
_QUEUE = 1  # NFQUEUE numbers are per namespace
_LINK_DELAY = Path(__file__).with_name("link_delay.py")
_LINK_PROBE = Path(__file__).with_name("link_probe.py")


@dataclass
class LinkFigures:
    """What link_probe.py measured: probes sent, and the round trip of each answered one."""

    sent: int
    rtts: list[float]

    @property
    def loss(self) -> float:
        return 1 - len(self.rtts) / self.sent

    @property
    def median_rtt(self) -> float:
        return sorted(self.rtts)[len(self.rtts) // 2]

    def summary(self) -> str:
        return f"{self.sent} probes, loss {self.loss:.1%}, median round trip " \
            f"{self.median_rtt * 1000:.0f} ms"


def sh(*argv: str, check: bool = True, timeout: float = 30,
       cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {result.returncode}: {result.stderr.strip()}")
    return result


def require_tools() -> None:
    """A missing tool is a failure with a hint, not a skip."""
    for tool in ("ip", "iptables", "etcdctl"):
        if sh("sh", "-c", f"command -v {tool}", check=False).returncode != 0:
            raise RuntimeError(
                f"{tool} not found: run scripts/setup.sh "
                "(it installs iproute2, iptables, etcd-client)"
            )


@dataclass
class Node:
    netns: str
    index: int
    delayer: subprocess.Popen[str] | None = None

    @property
    def ip(self) -> str:
        return f"{SUBNET}.{self.index + 1}"

    def argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def run(self, *argv: str, check: bool = True, timeout: float = 30,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return sh(*self.argv(*argv), check=check, timeout=timeout, cwd=cwd)


@dataclass
class NetnsLab:
    size: int
    name: str = ""  # default: <prefix>-<our pid>-<random>
    nodes: list[Node] = field(default_factory=list)
    prefix: str = PREFIX

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.prefix}-{os.getpid()}-{secrets.token_hex(3)}"

    @property
    def bridge_netns(self) -> str:
        return f"{self.name}-br"

    def namespaces(self) -> list[str]:
        return [self.bridge_netns, *(n.netns for n in self.nodes)]

    def create(self) -> None:
        sh("ip", "netns", "add", self.bridge_netns)
        bridge = ["ip", "netns", "exec", self.bridge_netns]
        sh(*bridge, "ip", "link", "add", "br0", "type", "bridge")
        sh(*bridge, "ip", "link", "set", "br0", "up")
        for index in range(self.size):
            node = Node(f"{self.name}-{index}", index)
            sh("ip", "netns", "add", node.netns)
            self.nodes.append(node)
            port = f"v{index}"
            sh("ip", "link", "add", "eth0", "netns", node.netns, "type", "veth",
               "peer", "name", port, "netns", self.bridge_netns)
            sh(*bridge, "ip", "link", "set", port, "master", "br0", "up")
            node.run("ip", "link", "set", "lo", "up")
            node.run("ip", "addr", "add", f"{node.ip}/24", "dev", "eth0")
            node.run("ip", "link", "set", "eth0", "up")
            node.run("iptables", "-N", "PARTITION")
            node.run("iptables", "-I", "INPUT", "-j", "PARTITION")
            node.run("iptables", "-I", "OUTPUT", "-j", "PARTITION")

    # --- faults ------------------------------------------------------------------

    def cut(self, node: Node, others: Sequence[Node] | None = None) -> None:
        """Drop every packet between ``node`` and ``others`` (default: everyone else)."""
        for other in others if others is not None else self.others(node):
            node.run("iptables", "-A", "PARTITION", "-s", other.ip, "-j", "DROP")
            node.run("iptables", "-A", "PARTITION", "-d", other.ip, "-j", "DROP")

    def heal(self, node: Node) -> None:
        node.run("iptables", "-F", "PARTITION")

    def others(self, node: Node) -> list[Node]:
        return [n for n in self.nodes if n is not node]

    def slow(self, node: Node, delay: float, jitter: float, loss: float) -> None:
        """What ``tc netem delay D J loss L`` on ``node``'s eth0 would do (outgoing)."""
        node.delayer = subprocess.Popen(
            node.argv(sys.executable, str(_LINK_DELAY), str(_QUEUE), str(delay), str(jitter),
                      str(loss)),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert node.delayer.stdout is not None
        line = node.delayer.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"link_delay did not start: {line} {node.delayer.stdout.read()}")
        # No --queue-bypass: should the delayer die, the link goes dead, not quietly fast.
        node.run("iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE",
                 "--queue-num", str(_QUEUE))

    def unslow(self, node: Node) -> None:
        node.run("iptables", "-D", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE",
                 "--queue-num", str(_QUEUE), check=False)
        if node.delayer is not None:
            node.delayer.terminate()
            node.delayer.wait(10)
            node.delayer = None

    def measure_link(self, source: Node, target: Node, count: int = 200) -> LinkFigures:
        """Round trips of ``count`` UDP probes from ``source`` to an echo on ``target``."""
        echo = subprocess.Popen(target.argv(sys.executable, str(_LINK_PROBE), "echo"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert echo.stdout is not None
            line = echo.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"link_probe echo did not start: {line}")
            out = source.run(sys.executable, str(_LINK_PROBE), "measure", target.ip,
                             str(count), timeout=60)
        finally:
            echo.terminate()
            echo.wait(10)
        return LinkFigures(**json.loads(out.stdout))

    # --- teardown ------------------------------------------------------------------

    def destroy(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                self.unslow(node)
        for netns in self.namespaces():
            _remove_netns(netns)


def _netns_pids(netns: str) -> list[int]:
    result = sh("ip", "netns", "pids", netns, check=False)
    return [int(p) for p in result.stdout.split()]


def _remove_netns(netns: str) -> None:
    """Kill what still runs inside (only our own processes run there), then delete it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _netns_pids(netns)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while pids and _netns_pids(netns) and time.monotonic() < deadline:
            time.sleep(0.1)
    sh("ip", "netns", "del", netns, check=False)


def sweep_stale(prefix: str = PREFIX) -> list[str]:
    """Remove labs whose creating process is gone (a run that was killed)."""
    removed = []
    for line in sh("ip", "netns", "list").stdout.splitlines():
        netns = line.split()[0] if line.split() else ""
        parts = netns.split("-")
        if len(parts) < 4 or parts[0] != prefix or not parts[1].isdigit():
            continue
        if _pid_alive(int(parts[1])):
            continue
        _remove_netns(netns)
        removed.append(netns)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextlib.contextmanager
def netns_lab(size: int, prefix: str = PREFIX) -> Iterator[NetnsLab]:
    """``prefix``: of every namespace's name (a test may want its own)."""
    require_tools()
    sweep_stale(prefix)
    lab = NetnsLab(size, prefix=prefix)
    try:
        lab.create()
        yield lab
    finally:
        lab.destroy()
