"""A running member in auto mode rises to the cluster's etcd timing (application/cluster/
etcd_timing.py): the first instance of a cluster had nobody to measure and runs etcd's
defaults until a joiner measured the links; a member that ran less than a later joiner
measured is in the same place. Every ``interval`` it asks the other instances what they
run; if one runs more, it stores the higher values and restarts its own etcd with them.

Only while the cluster has quorum, so that the restart (about a second) costs no more
than one member does; values only rise, so members converge and it happens once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from application.cluster.etcd_timing import (
    TIMING_RULE,
    TimingStore,
    TimingSurvey,
    raised_to_the_cluster,
)
from application.ports import Sleep
from domain.etcd_timing import EtcdTiming

log = logging.getLogger("registry-service")

ADOPTION_INTERVAL = 15.0


class MemberRelaunch(Protocol):
    async def relaunch(self, timing: EtcdTiming) -> None:
        """Stop our etcd member and start it again (same data dir) with ``timing``."""
        ...


async def adopt_the_clusters_timing(
    *,
    own: Callable[[], EtcdTiming],
    survey: TimingSurvey,
    store: TimingStore,
    member: MemberRelaunch,
    has_quorum: Callable[[], bool],
    adopted: Callable[[EtcdTiming], None],
    sleep: Sleep,
    interval: float = ADOPTION_INTERVAL,
) -> None:
    """Runs until cancelled."""
    while True:
        await sleep(interval)
        if not has_quorum():
            continue
        current = own()
        chosen = raised_to_the_cluster(current, await survey.survey(measure=False))
        if chosen is None or not has_quorum():
            continue
        log.info("etcd timing: %s (auto, running: %s; ran %s; restarting this member's etcd "
                 "to apply it; %s)", chosen.short(), chosen.reason, current.short(), TIMING_RULE)
        store.save(chosen)
        await member.relaunch(chosen)
        adopted(chosen)
