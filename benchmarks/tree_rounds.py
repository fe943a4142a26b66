"""What scale_snapshot.py and scale_lists.py share: a daemon's peak RSS over a burst, and
rounds that run the same daemon and data dir from this tree and from other checkouts."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from registry_process import RegistryProcess


class PeakRss:
    """Polls a process's RSS every 20 ms inside the block: ``peak_mb`` above its RSS on
    entry; ``now_mb()``, its RSS now above that."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.base = self._peak = 0
        self._polling = False
        self._poller = threading.Thread(target=self._poll)

    def __enter__(self) -> PeakRss:
        self.base = self._peak = self._process.memory_info().rss
        self._polling = True
        self._poller.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._polling = False
        self._poller.join()

    def _poll(self) -> None:
        while self._polling:
            self._peak = max(self._peak, self._process.memory_info().rss)
            time.sleep(0.02)

    @property
    def peak_mb(self) -> float:
        return (self._peak - self.base) / 1e6

    def now_mb(self) -> float:
        return (self._process.memory_info().rss - self.base) / 1e6


def trees_in_turn(daemon: RegistryProcess, trees: dict[str, Path | None], rounds: int,
                  ready: Callable[[], None]) -> Iterator[str]:
    """Each round, each tree in turn: ``daemon`` started from it (first on PYTHONPATH;
    None: this tree) and ``ready``; yields the tree's name, then stops the daemon."""
    for _ in range(rounds):
        for name, tree in trees.items():
            daemon.env = {"PYTHONPATH": str(tree)} if tree else {}
            daemon.start(timeout=120)
            try:
                ready()
                yield name
            finally:
                daemon.stop()
