"""Start this instance's etcd member: a new cluster, a restart, or a join."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, Protocol, TypeVar

from application.cluster.join import join_cluster
from application.ports import Clock, RegistryTransport, Sleep
from domain.cluster import EtcdEndpoint

log = logging.getLogger("registry-service")

# After a restart, how long to wait for a leader before serving without one.
# A member removed while it was down learns so from its peers within this
# time, and etcd then exits.
RESTART_SETTLE = 5.0


class StartupError(RuntimeError):
    """The daemon cannot start as configured (shown without a traceback)."""


class EtcdStart(enum.Enum):
    NEW = "new"  # first member of a new cluster
    RESTART = "restart"  # the data dir already holds this member
    JOIN = "join"  # ask a running registry-service to add us, then start as "existing"


def choose_etcd_start(*, has_member_data: bool, new_cluster: bool) -> EtcdStart:
    # Existing data wins: re-running "new" on an old member is how the Go
    # original ended up needing snapshot surgery.
    if has_member_data:
        return EtcdStart.RESTART
    return EtcdStart.NEW if new_cluster else EtcdStart.JOIN


class MemberProcess(Protocol):
    """One run of this instance's etcd member."""

    @property
    def running(self) -> bool: ...

    @property
    def exit_code(self) -> int | None: ...

    @property
    def log_path(self) -> Path: ...

    async def start(self, *, wait: bool = True) -> None:
        """With ``wait``, return once the member is ready (has joined its cluster)."""
        ...

    async def stop(self) -> None: ...

    def was_removed(self) -> bool:
        """Whether it exited because the cluster had removed it."""
        ...

    def log_tail(self) -> str: ...


P = TypeVar("P", bound=MemberProcess)


class MemberHost(Protocol, Generic[P]):
    """This host's side of our etcd member: its data dir, and the processes run on it."""

    def holds_member(self) -> bool:
        """Whether the data dir holds a member that ran before."""
        ...

    def restart_process(self) -> P:
        """The member in the data dir, serving whether its cluster has quorum or not."""
        ...

    def new_process(
        self, initial_cluster: str, state: Literal["new", "existing"],
        start_timeout: float | None = None,
    ) -> P:
        """A new member; ``start_timeout``: how long it may take to be ready (else the
        host's default)."""
        ...

    async def wait_for_leader(self, process: P, seconds: float) -> bool:
        """True once the member knows a leader; False if it exits or ``seconds`` pass
        first. Stops the process if interrupted."""
        ...

    async def update_peer_url(self, process: P) -> None:
        """Point the member's peer URL at its scheme now (needs quorum; never raises)."""
        ...

    def move_aside(self) -> Path:
        """Rename the data dir out of the way; returns where it went."""
        ...


@dataclass(frozen=True)
class MemberStart:
    """What the daemon was told about its etcd member."""

    endpoint: EtcdEndpoint
    data_dir: Path
    new_cluster: bool
    join_timeout: float
    can_join: bool  # bootstrap peers were given (and not --local)


class MemberRestartFailed(StartupError):
    """The member exited right after restarting, for another reason than its removal."""


async def start_member(
    start: MemberStart,
    host: MemberHost[P],
    join_transport: Callable[[], RegistryTransport],
    *,
    sleep: Sleep,
    clock: Clock = time.monotonic,
) -> P:
    """Our member, running: restarted from its data dir, first of a new cluster, or
    added to the running cluster through ``join_transport()``."""
    how = choose_etcd_start(has_member_data=host.holds_member(), new_cluster=start.new_cluster)
    if how is EtcdStart.RESTART:
        restarted = await _restart(start, host)
        if restarted is not None:
            return restarted
        how = EtcdStart.JOIN
    if how is EtcdStart.NEW:
        endpoint = start.endpoint
        return await _launch(start, host, f"{endpoint.member_name}={endpoint.peer_url}", "new")
    return await _join(start, host, join_transport, sleep=sleep, clock=clock)


async def _restart(start: MemberStart, host: MemberHost[P]) -> P | None:
    """The member in the data dir, running; the daemon serves whether it has quorum or not.

    None when the cluster had removed this member: its data dir is then moved
    aside (etcd refuses to run on it again) and the caller joins afresh.
    """
    name = start.endpoint.member_name
    log.info("etcd: restarting member %s from %s", name, start.data_dir)
    process = host.restart_process()
    # Not waiting for quorum: when the other members are down too, one of them
    # has to come up first, and it would wait for the others forever.
    await process.start(wait=False)
    has_leader = await host.wait_for_leader(process, RESTART_SETTLE)
    if process.running:
        if not has_leader:
            log.warning(
                "etcd: member %s has no quorum yet (most members down?); serving, but requests "
                "fail until a majority of the members is back", name
            )
        else:
            await host.update_peer_url(process)
        return process
    if not process.was_removed():
        raise MemberRestartFailed(
            f"etcd {name} exited with code {process.exit_code} right "
            f"after restarting; last lines of {process.log_path}:\n{process.log_tail()}"
        )
    await process.stop()  # closes its log
    aside = host.move_aside()
    log.warning(
        "etcd: member %s had been removed from the cluster; its old data dir is now %s; "
        "joining afresh", name, aside
    )
    return None


async def _join(
    start: MemberStart,
    host: MemberHost[P],
    join_transport: Callable[[], RegistryTransport],
    *,
    sleep: Sleep,
    clock: Clock,
) -> P:
    if not start.can_join:
        raise StartupError(
            "nothing to join: start the first instance with --new-etcd-cluster, "
            "or give --bootstrap peers of a running registry-service"
        )
    started = clock()
    initial_cluster = await join_cluster(
        join_transport(), start.endpoint, timeout=start.join_timeout, sleep=sleep, clock=clock
    )
    log.info("etcd: added to the cluster as %s after %.1f s", start.endpoint.member_name,
             clock() - started)
    # Healthy = promoted from learner to voting member, which a running
    # instance does once our member has caught up. --join-timeout bounds the whole join.
    remaining = max(start.join_timeout - (clock() - started), 0.0)
    return await _launch(start, host, initial_cluster, "existing", start_timeout=remaining)


async def _launch(
    start: MemberStart, host: MemberHost[P], initial_cluster: str,
    state: Literal["new", "existing"], *, start_timeout: float | None = None,
) -> P:
    log.info("etcd: starting member %s (%s cluster %s, data dir %s)", start.endpoint.member_name,
             state, initial_cluster, start.data_dir)
    process = host.new_process(initial_cluster, state, start_timeout)
    await process.start()
    return process
