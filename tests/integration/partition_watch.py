"""A watch through the cut-off instance during a partition, measured (test and benchmark).

`registry-cli --json watch` runs inside the victim's namespace, bootstrapping to
the victim only; a steady writer on the majority writes one new name a tick.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from netns_fixtures import Node
from partition_cluster import PASSPHRASE, PartitionCluster, SteadyWriter
from registry_process import VENV_BIN


class WatchFollower:
    """registry-cli watch in ``node``'s namespace; every event line with its arrival time."""

    def __init__(self, cluster: PartitionCluster, node: Node, prefix: str) -> None:
        addrs = [a for addr in cluster.procs[node.index].addrs for a in ("--bootstrap", addr)]
        argv = node.argv(str(VENV_BIN / "registry-cli"), "--psk", PASSPHRASE, *addrs,
                         "--json", "watch", "--prefix", prefix)
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.events.append((time.monotonic(), json.loads(line)))

    def seen(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return list(self.events)

    def wait_for(self, test: Any, within: float) -> float | None:
        """The arrival time of the first event ``test`` accepts, waiting up to ``within`` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for at, event in self.seen():
                if test(event):
                    return at
            if self.process.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def close(self) -> str:
        """Stop it; its stderr (for messages)."""
        self.process.terminate()
        try:
            _, stderr = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return stderr.strip()


@dataclass
class WatchFigures:
    scenario: str
    cut_off_notice_s: float | None = None  # from the cut until the watcher heard of it
    resumed_notice_s: float | None = None  # from the heal until it heard it is back
    catch_up_s: float | None = None  # from the heal until it had every change made meanwhile
    acknowledged: int = 0
    made_during_cut: int = 0  # acknowledged writes begun between cut and heal
    lost: int = 0  # acknowledged writes the watcher never saw
    duplicates: int = 0
    in_revision_order: bool = False
    notices: list[bool] = field(default_factory=list)  # CutOff values, in arrival order
    stderr: str = ""

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = round(value, 2) if isinstance(value, float) else value
        return out


def watch_cut_scenario(cluster: PartitionCluster, victim: Node, scenario: str = "watch-cut",
                       hold: float = 8.0) -> WatchFigures:
    cluster.wait_all_healthy()
    figures = WatchFigures(scenario)
    prefix = f"{scenario}-w"
    majority = next(n for n in cluster.nodes if n is not victim)
    follower = WatchFollower(cluster, victim, prefix)
    try:
        assert follower.wait_for(lambda e: e["Type"] == "SYNCED", 60), (
            f"the watch never started: {follower.close()}")
        with SteadyWriter(cluster.probes[majority.index], prefix) as writer:
            time.sleep(1.5)
            cut = time.monotonic()
            cluster.lab.cut(victim)
            try:
                heard = follower.wait_for(lambda e: e.get("CutOff") is True, hold)
                figures.cut_off_notice_s = None if heard is None else heard - cut
                time.sleep(max(0.0, cut + hold - time.monotonic()))
            finally:
                healed = time.monotonic()
                cluster.lab.heal(victim)
            during = [w for w in writer.acknowledged if cut <= w.started < healed]
            back = follower.wait_for(
                lambda e: e.get("CutOff") is False and e["Revision"] >= 0, 30)
            figures.resumed_notice_s = None if back is None else back - healed
            names = {w.name for w in during}
            got: dict[str, float] = {}
            deadline = healed + 30
            while time.monotonic() < deadline and not names <= got.keys():
                got = {e["Name"]: at for at, e in follower.seen() if e["Type"] == "PUT"}
                time.sleep(0.1)
            if names and names <= got.keys():
                figures.catch_up_s = max(got[n] for n in names) - healed
            time.sleep(1.0)
        # every acknowledged write reaches the watcher
        last = writer.last_acknowledged()
        assert last is not None
        follower.wait_for(lambda e: e.get("Name") == last.name, 30)
        time.sleep(0.5)
        events = [e for _, e in follower.seen()]
    finally:
        figures.stderr = follower.close()
    puts = [e for e in events if e["Type"] == "PUT"]
    seen = [e["Name"] for e in puts]
    figures.acknowledged = len(writer.acknowledged)
    figures.made_during_cut = len(during)
    figures.lost = sum(1 for w in writer.acknowledged if w.name not in seen)
    figures.duplicates = len(seen) - len(set(seen))
    revisions = [e["Revision"] for e in puts]
    figures.in_revision_order = revisions == sorted(set(revisions))
    figures.notices = [e["CutOff"] for e in events if "CutOff" in e]
    return figures
