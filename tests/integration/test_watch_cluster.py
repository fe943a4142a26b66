"""A watch survives the death of the instance serving it (3-instance cluster on 127.0.0.1-3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from cluster_fixtures import PSK, Cluster, three_instances
from watch_helpers import _info, _take

from adapters.libp2p.node import peer_info_of
from application import conditional_client
from domain.bootstrap import parse_bootstraps
from domain.watch_wire import EventType
from entrypoints import library

WRITES, KILL_AFTER = 30, 10


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with three_instances(tmp_path_factory.mktemp("watch-cluster")) as cluster:
        yield cluster


async def test_a_watch_fails_over_to_another_instance_and_loses_no_event(cluster: Cluster):
    revisions: list[int] = []
    async with library.watch_services(cluster.addrs, PSK, prefix="fo-") as events:
        [synced] = await _take(events, 1)
        assert synced.type is EventType.SYNCED
        victim = cluster.by_peer_id(events.provider or "")
        writer = next(i for i in cluster.instances if i is not victim)
        [address] = parse_bootstraps(writer.proc.addrs)

        async def write_all() -> None:
            async with library.registry_client(
                writer.proc.addrs, PSK, preferred=[peer_info_of(address)]
            ) as client:
                for n in range(WRITES):
                    revisions.append(
                        await conditional_client.add_service_if(client, f"fo-{n}", _info(n), None)
                    )
                    if n == KILL_AFTER:
                        await trio.to_thread.run_sync(victim.kill)
                    await trio.sleep(0.05)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write_all)
                got = await _take(events, WRITES)
            assert [e.name for e in got] == [f"fo-{n}" for n in range(WRITES)]  # none lost
            assert [e.revision for e in got] == revisions  # none twice, in order
            assert events.provider != victim.peer_id  # it did move
        finally:
            if not victim.proc.alive():
                cluster.restart(victim, timeout=120)
