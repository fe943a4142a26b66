"""Progress as plain lines, for logs and pipes (no terminal attached).

Every line starts with the stage in brackets, so interleaved lines of stages
running side by side (save+hash beside push) stay readable. Byte progress is
printed at most every few seconds, not per chunk.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TextIO

from adapters.progress.stage_clock import StageClock, human_bytes, now
from application.publishing_ports import Cancelled

_BYTES_EVERY_SECONDS = 5.0


class PlainStage:
    def __init__(self, reporter: PlainProgressReporter, name: str) -> None:
        self._reporter = reporter
        self._name = name
        self._total: int | None = None
        self._done = 0
        self._last_report = now()
        self._seen_status: set[str] = set()
        self._last_logged = ""
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        return self._done

    def set_total(self, total: int | None) -> None:
        self._total = total

    def advance(self, amount: int) -> None:
        with self._lock:
            self._done += amount
            if now() - self._last_report < _BYTES_EVERY_SECONDS:
                return
            self._last_report = now()
            done = self._done
        total = f" of {human_bytes(self._total)}" if self._total else ""
        self._reporter.line(self._name, f"{human_bytes(done)}{total}")

    def status(self, text: str) -> None:
        # A push repeats "<layer>: Pushing" per progress update, interleaving
        # layers; a build step was just logged as it is. Say each thing once.
        with self._lock:
            if text in self._seen_status or text == self._last_logged:
                return
            self._seen_status.add(text)
        self._reporter.line(self._name, text)

    def log(self, line: str) -> None:
        self._last_logged = line
        self._reporter.line(self._name, f"| {line}")


class PlainProgressReporter:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._clock = StageClock()

    def line(self, stage: str, text: str) -> None:
        with self._lock:
            print(f"[{stage}] {text}", file=self._stream, flush=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[PlainStage]:
        started = now()
        progress = PlainStage(self, name)
        self.line(name, "started")
        try:
            yield progress
        except BaseException as exc:
            ended = "stopped" if isinstance(exc, Cancelled) else "failed"
            self.line(name, f"{ended} after {now() - started:.1f} s")
            raise
        seconds = now() - started
        self._clock.record(name, seconds)
        moved = f", {human_bytes(progress.done)}" if progress.done else ""
        self.line(name, f"done in {seconds:.1f} s{moved}")

    def suspended(self) -> AbstractContextManager[None]:
        return nullcontext()

    def timings(self) -> dict[str, float]:
        return self._clock.timings()
