"""MemberHost and MemberProcess in memory: scripted etcd member runs, for the start use case."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class ScriptedMemberProcess:
    """``exits``: the run ends by itself right after starting (``removed``: the cluster had
    removed the member)."""

    how: str  # "restart" or "new:<initial cluster>:<state>"
    exits: bool = False
    removed: bool = False
    exit_code: int | None = None
    log_path: Path = Path("/nowhere/etcd.log")
    started: bool = False
    stopped: bool = False
    waited: bool | None = None

    @property
    def running(self) -> bool:
        return self.started and not self.stopped and not self.exits

    async def start(self, *, wait: bool = True) -> None:
        self.started, self.waited = True, wait
        if self.exits:
            self.exit_code = 1

    async def stop(self) -> None:
        self.stopped = True

    def was_removed(self) -> bool:
        return self.removed

    def log_tail(self) -> str:
        return "last line"


@dataclass
class InMemoryMemberHost:
    """A data dir that may hold a member; each run taken from ``restart_runs`` in turn."""

    holds: bool = False
    has_leader: bool = True
    restart_runs: list[ScriptedMemberProcess] = field(default_factory=list)
    processes: list[ScriptedMemberProcess] = field(default_factory=list)
    peer_url_updates: int = 0
    moved_aside: list[Path] = field(default_factory=list)

    def holds_member(self) -> bool:
        return self.holds

    def restart_process(self) -> ScriptedMemberProcess:
        runs = self.restart_runs
        process = runs.pop(0) if runs else ScriptedMemberProcess("restart")
        self.processes.append(process)
        return process

    def new_process(
        self, initial_cluster: str, state: Literal["new", "existing"],
        start_timeout: float | None = None,
    ) -> ScriptedMemberProcess:
        process = ScriptedMemberProcess(f"new:{initial_cluster}:{state}")
        self.processes.append(process)
        return process

    async def wait_for_leader(self, process: ScriptedMemberProcess, seconds: float) -> bool:
        return process.running and self.has_leader

    async def update_peer_url(self, process: ScriptedMemberProcess) -> None:
        self.peer_url_updates += 1

    def move_aside(self) -> Path:
        aside = Path(f"/data/member.removed-{len(self.moved_aside)}")
        self.moved_aside.append(aside)
        self.holds = False
        return aside
