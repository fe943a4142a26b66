"""Progress on a terminal: one live line per stage (bar, bytes, rate, elapsed).

Tool output (the build log) scrolls above the live lines; a finished stage
stays as a line with its time. Uses rich, which cyclopts already brings in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from adapters.progress.stage_clock import StageClock, now

_STATUS_WIDTH = 60


class TerminalStage:
    def __init__(self, progress: Progress, task: TaskID, console: Console, name: str) -> None:
        self._progress = progress
        self._task = task
        self._console = console
        self._name = name
        self.done = 0

    def set_total(self, total: int | None) -> None:
        self._progress.update(self._task, total=total)

    def advance(self, amount: int) -> None:
        self.done += amount
        self._progress.advance(self._task, amount)

    def status(self, text: str) -> None:
        short = text if len(text) <= _STATUS_WIDTH else text[: _STATUS_WIDTH - 1] + "…"
        self._progress.update(self._task, status=escape(short))

    def log(self, line: str) -> None:
        self._console.print(f"[dim]{escape(self._name)} |[/dim] {escape(line)}", highlight=False)


class TerminalProgressReporter:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/green]"),
            TextColumn("{task.description:<10}"),
            BarColumn(bar_width=24),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=self._console,
            transient=False,
        )
        self._clock = StageClock()
        self._active = 0
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[TerminalStage]:
        with self._lock:
            if self._active == 0:
                self._progress.start()
            self._active += 1
        task = self._progress.add_task(name, total=None, status="")
        stage = TerminalStage(self._progress, task, self._console, name)
        started = now()
        try:
            yield stage
        except BaseException:
            self._progress.update(task, status="[red]failed[/red]")
            self._progress.stop_task(task)
            raise
        else:
            self._clock.record(name, now() - started)
            # A finished stage shows a full bar even when its total was never known.
            self._progress.update(task, total=max(stage.done, 1), completed=max(stage.done, 1))
            self._progress.stop_task(task)
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._progress.refresh()
                    self._progress.stop()

    @contextmanager
    def suspended(self) -> Iterator[None]:
        with self._lock:
            live = self._active > 0
            if live:
                self._progress.stop()
        try:
            yield
        finally:
            if live:
                self._progress.start()

    def timings(self) -> dict[str, float]:
        return self._clock.timings()
