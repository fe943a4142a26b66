"""A watch refused at one instance's --max-watches goes to the next instance (library)."""

from __future__ import annotations

from pathlib import Path

import trio
from cluster_fixtures import PASSPHRASE, Cluster, all_healthy, wait_until
from test_scale_watchers import watch_figures

from domain.psk import psk_from_passphrase
from domain.watch_wire import EventType
from entrypoints import library

TRIES = 16  # the client asks its bootstraps in random order: A first in ~half of them


def test_a_watch_refused_at_one_instances_limit_is_served_by_the_next(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        full = cluster.add_instance(extra_args=("--max-watches", "1"))
        roomy = cluster.add_instance()
        wait_until(lambda: all_healthy(cluster), 60, "two healthy members")
        psk = psk_from_passphrase(PASSPHRASE)
        both = [*full.proc.addrs, *roomy.proc.addrs]
        served_by: list[str] = []

        async def scenario() -> None:
            # One watch takes the full instance's only slot.
            async with library.watch_services(full.proc.addrs, psk) as hog:
                with trio.fail_after(30):
                    async for event in hog:
                        if event.type is EventType.SYNCED:
                            break
                for _ in range(TRIES):
                    async with library.watch_services(both, psk) as watch:
                        with trio.fail_after(30):
                            async for event in watch:
                                if event.type is EventType.SYNCED:
                                    served_by.append(watch.provider or "")
                                    break
                    if watch_figures(full.proc.prom_port)["registry_watches_refused_total"]:
                        break

        trio.run(scenario)
        refused = watch_figures(full.proc.prom_port)["registry_watches_refused_total"]
        assert refused >= 1, "the full instance was never asked first"
        # Every watch was served, each by the instance with room.
        roomy_id = roomy.proc.addrs[0].rsplit("/p2p/", 1)[1]
        assert served_by and set(served_by) == {roomy_id}, served_by
    finally:
        cluster.stop_all()
