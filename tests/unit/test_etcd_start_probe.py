"""EtcdProcess waits for its member to be healthy; far from the leader a check is slow.

A follower's quorum read costs two round trips to its leader (a read index, then the
leader's heartbeat round): 1 s and more at 500 ms between members. A probe that always
gave up after 1 s would never see such a member ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from adapters.etcd import process as etcd_process
from adapters.etcd.process import EtcdProcess
from domain.cluster import EtcdEndpoint


class _Running:
    def poll(self) -> None:
        return None


async def test_the_start_up_probe_waits_longer_each_time_one_runs_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float] = []

    async def health_that_takes_0_14_s(connection: Any, *, timeout: float | None = None) -> bool:
        assert timeout is not None
        asked.append(timeout)
        await trio.sleep(min(timeout, 0.14))  # the member's answer, or the probe giving up
        return timeout >= 0.14

    # time scaled down 10 times: a 1 s probe, a member that needs 1.4 s to answer
    monkeypatch.setattr(etcd_process, "check_health", health_that_takes_0_14_s)
    monkeypatch.setattr(etcd_process, "_PROBE_TIMEOUT", 0.1)
    monkeypatch.setattr(etcd_process, "_POLL_INTERVAL", 0.0)
    member = EtcdProcess(EtcdEndpoint(ip="127.0.0.1", client_port=2379, peer_port=2380),
                         data_dir=tmp_path / "etcd-data", start_timeout=30)
    member._process = _Running()  # type: ignore[assignment]
    with trio.fail_after(10):
        await member._wait_until_ready()
    assert asked == [0.1, 0.2]  # gave up once, then waited twice as long: long enough
