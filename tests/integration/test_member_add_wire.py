"""docs/protocol.md's member add, over the wire: `/memberadd/0.2`'s `{"Error": …}`, the
newcomer's fallback to `/memberadd/0.1` with its one log line, and `--join-timeout`."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
import trio
from registry_process import RegistryProcess, free_port

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from adapters.libp2p.registry_server import Libp2pRegistryServer
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from application.ports import RequestRejected, StorageUnavailable
from application.server import RegistryRequestHandler
from domain.cluster import EtcdMember
from domain.member_add_answer import MEMBER_ADD_WITH_REASON
from domain.psk import psk_from_passphrase
from domain.rendezvous import REGISTRY_RENDEZVOUS
from entrypoints import library
from entrypoints.common.errors import single_error

PASSPHRASE = "member add wire test"


async def _raw(addrs: list[str], protocol_id: str, payload: bytes) -> bytes:
    try:
        async with library.registry_client(addrs, psk_from_passphrase(PASSPHRASE),
                                           attempts=1) as client:
            return await client.request(protocol_id, payload)
    except BaseExceptionGroup as group:
        raise single_error(group) from None


def test_memberadd_0_2_answers_a_refusal_with_its_reason(tmp_path: Path) -> None:
    proc = RegistryProcess(tmp_path / "r", passphrase=PASSPHRASE).start()
    try:
        status = json.loads(proc.cli("--json", "status").stdout)
        [member] = status["members"]
        request = json.dumps({"MemberName": "intruder", "MemberPeerUrl": member["peer_url"]})
        reply = trio.run(_raw, proc.addrs, MEMBER_ADD_WITH_REASON, request.encode())
        answer = json.loads(reply)
        assert set(answer) == {"Error"}, answer  # exactly one of the two fields
        assert "is running; refusing to add intruder with the same peer URL" in answer["Error"]
        assert "\n" not in answer["Error"]
        # Only a request that is not the JSON object resets the stream.
        with pytest.raises(RequestRejected):
            trio.run(_raw, proc.addrs, MEMBER_ADD_WITH_REASON, b"not json")
        after = json.loads(proc.cli("--json", "status").stdout)
        assert len(after["members"]) == 1  # nothing was added
        assert proc.alive()
    finally:
        proc.stop()


class RefusingMembership(InMemoryClusterMembership):
    """etcd refusing every membership change, as right after another member joined."""

    async def add_member(self, peer_url: str, *, learner: bool = False) -> list[EtcdMember]:
        raise StorageUnavailable("etcdserver: unhealthy cluster")


@asynccontextmanager
async def node_serving_only_0_1(
    membership: InMemoryClusterMembership,
) -> AsyncIterator[list[str]]:
    """Our own node serving the five `/…/0.1` protocols only, as a Go instance does."""
    handler = RegistryRequestHandler(InMemoryServiceRepository(), membership,
                                     RecordingMetrics())
    settings = NodeSettings(key_pair=ephemeral_identity(),
                            psk=psk_from_passphrase(PASSPHRASE),
                            listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(settings) as node:
        Libp2pRegistryServer(handler).attach(node.host)
        await node.rendezvous.advertise(REGISTRY_RENDEZVOUS)  # as a Go instance does
        yield node.full_addrs()


def _newcomer(tmp_path: Path, bootstraps: list[str], *extra: str) -> RegistryProcess:
    return RegistryProcess(tmp_path / "newcomer", passphrase=PASSPHRASE, new_cluster=False,
                           bootstraps=bootstraps, extra_args=list(extra))


async def _log_says(proc: RegistryProcess, text: str, within: float) -> str:
    with trio.fail_after(within):
        while text not in (log := proc.log_file.read_text() if proc.log_file.exists() else ""):
            await trio.sleep(0.05)
    return log


def test_a_newcomer_falls_back_to_memberadd_0_1_and_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    first = EtcdMember(name="first", peer_urls=(f"https://127.0.0.1:{free_port()}",),
                       member_id=1)
    membership = InMemoryClusterMembership([first])

    async def main() -> str:
        async with node_serving_only_0_1(membership) as addrs:
            newcomer = _newcomer(tmp_path, addrs, "--join-timeout", "30")
            try:
                newcomer.workdir.mkdir(parents=True, exist_ok=True)
                await trio.to_thread.run_sync(_spawn, newcomer)
                # asked over 0.1, and admitted there: its member is in the cluster now
                log = await _log_says(newcomer, "/memberadd/0.1", 60)
                with trio.fail_after(30):
                    while len(membership.members) < 2:
                        await trio.sleep(0.05)
                return log
            finally:
                newcomer.stop()

    log = trio.run(main)
    lines = [line for line in log.splitlines() if "/memberadd/0.1" in line]
    assert len(lines) == 1, lines
    assert "/memberadd/0.2" in lines[0] and "carry no reason" in lines[0], lines[0]
    assert [m.peer_urls for m in membership.members][1][0].startswith("https://127.0.0.1:")


@asynccontextmanager
async def node_serving_nothing() -> AsyncIterator[list[str]]:
    """A peer of the private network that serves no registry and provides none."""
    settings = NodeSettings(key_pair=ephemeral_identity(),
                            psk=psk_from_passphrase(PASSPHRASE),
                            listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(settings) as node:
        yield node.full_addrs()


def _line_time(line: str) -> float:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _stamp(log: str, text: str) -> float:
    """When the daemon logged the first line holding ``text``."""
    return _line_time(next(line for line in log.splitlines() if text in line))


@pytest.mark.parametrize("bootstrap", ["refuses", "serves nothing"])
def test_a_newcomer_gives_up_after_its_join_timeout(tmp_path: Path, bootstrap: str) -> None:
    """--join-timeout bounds the whole join, whether the cluster refuses (etcd: unhealthy
    cluster) or nobody answers at all."""
    join_timeout = 3.0
    peer = (node_serving_only_0_1(RefusingMembership()) if bootstrap == "refuses"
            else node_serving_nothing())

    async def main() -> tuple[int | None, str]:
        async with peer as addrs:
            newcomer = _newcomer(tmp_path, addrs, "--join-timeout", str(join_timeout))
            newcomer.workdir.mkdir(parents=True, exist_ok=True)
            await trio.to_thread.run_sync(_spawn, newcomer)
            try:
                await _log_says(newcomer, "metrics at", 60)  # the line before the join
                assert newcomer.process is not None
                code = await trio.to_thread.run_sync(newcomer.process.wait, 60)
                return code, newcomer.log_file.read_text()
            finally:
                newcomer.stop()

    code, log = trio.run(main)
    # The daemon's own clock, from its log: the line before the join to the give-up
    # line (not the test's polling nor the process's teardown, which a loaded machine
    # stretches by tenths of a second; the exit itself is bounded by the wait above).
    asked_for = _stamp(log, "could not join the etcd cluster") - _stamp(log, "metrics at")
    print(f"gave up {asked_for:.2f} s after it began to ask")
    assert code == 1
    assert f"could not join the etcd cluster within {join_timeout:g} s" in log
    assert "Traceback" not in log
    if bootstrap == "refuses":
        assert "refused" in log
    # It asks again every second while the next try fits, and gives up when the try under
    # way then ends: within --join-timeout plus that one try (not after the client's own
    # back-off of 1+2+4+8 s). A try's length, from the log: the gap between two
    # "not accepted yet" lines less the 1 s pause (a loaded machine stretches it).
    stamps = [_line_time(line) for line in log.splitlines()
              if "member add not accepted yet" in line]
    longest_try = max((b - a - 1.0 for a, b in itertools.pairwise(stamps)), default=0.0)
    print(f"longest try {longest_try:.2f} s")
    assert join_timeout - 1.5 <= asked_for <= join_timeout + max(longest_try, 0) + 0.5, (
        asked_for, longest_try)


def _spawn(proc: RegistryProcess) -> None:
    """Start the process without waiting for it to serve (a newcomer may never serve)."""
    import os
    import subprocess

    from registry_process import default_signal_dispositions

    env = {k: v for k, v in os.environ.items()
           if k not in ("P2P_PSK", "P2P_PSK_FILE", "P2P_BOOTSTRAPS")}
    with proc.log_file.open("ab") as log:
        proc.process = subprocess.Popen(proc.argv(), stdout=log, stderr=subprocess.STDOUT,
                                        env=env, preexec_fn=default_signal_dispositions)
