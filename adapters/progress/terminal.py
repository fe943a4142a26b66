"""Progress on a terminal: one live line per running stage (bar, bytes, rate, elapsed).

Tool output (the build log) and each finished stage's summary line scroll
above the live lines. Around a password prompt the live display is taken
down and later rebuilt from the stages' own state: a rich display that is
merely restarted would move its cursor over lines printed meanwhile. Uses
rich, which cyclopts already brings in.
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
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from adapters.progress.stage_clock import StageClock, human_bytes, now
from application.publishing_ports import Cancelled

_STATUS_WIDTH = 60


class _OnlyWithBytes(ProgressColumn):
    """Shows the wrapped column only for stages that move bytes (others have no total)."""

    def __init__(self, inner: ProgressColumn) -> None:
        super().__init__()
        self._inner = inner

    def render(self, task: Task) -> Text:
        if task.total is None or not task.completed:
            return Text("")
        rendered = self._inner.render(task)
        return rendered if isinstance(rendered, Text) else Text(str(rendered))


def _new_display(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<10}"),
        BarColumn(bar_width=24),
        _OnlyWithBytes(DownloadColumn()),
        _OnlyWithBytes(TransferSpeedColumn()),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
        transient=True,
    )


class TerminalStage:
    """A stage's own state, mirrored into the live display while there is one."""

    def __init__(self, reporter: TerminalProgressReporter, name: str) -> None:
        self._reporter = reporter
        self.name = name
        self.total: int | None = None
        self.done = 0
        self.status_text = ""
        self.display: tuple[Progress, TaskID] | None = None

    def set_total(self, total: int | None) -> None:
        with self._reporter.lock:
            self.total = total
            if self.display:
                self.display[0].update(self.display[1], total=total)

    def advance(self, amount: int) -> None:
        with self._reporter.lock:
            self.done += amount
            if self.display:
                self.display[0].update(self.display[1], completed=self.done)

    def status(self, text: str) -> None:
        short = text if len(text) <= _STATUS_WIDTH else text[: _STATUS_WIDTH - 1] + "…"
        with self._reporter.lock:
            self.status_text = escape(short)
            if self.display:
                self.display[0].update(self.display[1], status=self.status_text)

    def log(self, line: str) -> None:
        self._reporter.emit(f"[dim]{escape(self.name)} |[/dim] {escape(line)}")


class TerminalProgressReporter:
    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self.lock = threading.RLock()
        self._clock = StageClock()
        self._stages: list[TerminalStage] = []
        self._display: Progress | None = None
        # Lines that arrive while a prompt owns the terminal wait until it is done.
        self._held: list[str] | None = None

    def emit(self, markup: str) -> None:
        with self.lock:
            if self._held is not None:
                self._held.append(markup)
            else:
                self._console.print(markup, highlight=False)

    def _show(self, stage: TerminalStage) -> None:
        if self._display is None:
            self._display = _new_display(self._console)
            self._display.start()
        task = self._display.add_task(
            stage.name, total=stage.total, completed=stage.done, status=stage.status_text
        )
        stage.display = (self._display, task)

    def _take_down(self) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None
        for stage in self._stages:
            stage.display = None

    @contextmanager
    def stage(self, name: str) -> Iterator[TerminalStage]:
        stage = TerminalStage(self, name)
        with self.lock:
            self._stages.append(stage)
            if self._held is None:
                self._show(stage)
        started = now()
        try:
            yield stage
        except BaseException as exc:
            ended = "stopped" if isinstance(exc, Cancelled) else "failed"
            self._finish(stage, f"[red]✗[/red] {name:<10} {ended} after {now() - started:.1f} s")
            raise
        seconds = now() - started
        self._clock.record(name, seconds)
        moved = f"  {human_bytes(stage.done)}" if stage.done else ""
        self._finish(stage, f"[green]✓[/green] {name:<10} {seconds:6.1f} s{moved}")

    def _finish(self, stage: TerminalStage, summary: str) -> None:
        with self.lock:
            self._stages.remove(stage)
            if stage.display:
                stage.display[0].remove_task(stage.display[1])
                stage.display = None
            if not self._stages:
                self._take_down()
            self.emit(summary)

    @contextmanager
    def suspended(self) -> Iterator[None]:
        with self.lock:
            self._take_down()
            self._held = []
        try:
            yield
        finally:
            with self.lock:
                held, self._held = self._held or [], None
                for markup in held:
                    self._console.print(markup, highlight=False)
                for stage in self._stages:
                    self._show(stage)

    def timings(self) -> dict[str, float]:
        return self._clock.timings()
