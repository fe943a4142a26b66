"""Time whole processes: wall clock and CPU (user + sys), alternating commands per round."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def run_once(argv: Sequence[str], env: Mapping[str, str] | None = None,
             expect: int = 0) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process, start to exit."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=None if env is None else dict(env))
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != expect:
        raise RuntimeError(f"{argv[0]} exited {process.returncode}: {err.decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def alternate(commands: Mapping[str, Sequence[str]], rounds: int,
              env: Mapping[str, str] | None = None,
              before: Mapping[str, Callable[[], None]] | None = None) -> dict[str, Timings]:
    """Each round runs every command once, in turn, so load from elsewhere hits all alike."""
    out = {name: Timings() for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            if before and name in before:
                before[name]()
            wall, cpu = run_once(argv, env)
            out[name].wall.append(wall)
            out[name].cpu.append(cpu)
    return out


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
