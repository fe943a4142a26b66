"""Stage timings and byte formatting shared by the progress reporters."""

from __future__ import annotations

import threading
import time


class StageClock:
    """Seconds per finished stage, in the order the stages finished. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}

    def record(self, name: str, seconds: float) -> None:
        with self._lock:
            self._seconds[name] = self._seconds.get(name, 0.0) + seconds

    def timings(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seconds)


def now() -> float:
    return time.monotonic()


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")
