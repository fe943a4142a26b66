"""adapters/libp2p/registry_server.py: `/list/0.1` answers are made and written at most
LISTS_AT_ONCE at a time (each can be the whole registry); the others wait their turn,
within the request timeout, and other requests do not wait at all."""

from __future__ import annotations

import multiaddr
import trio
from held_calls import HeldCalls
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.registry_client import Libp2pRegistryClient
from adapters.libp2p.registry_server import LISTS_AT_ONCE, Libp2pRegistryServer
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from application.server import RegistryRequestHandler

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
RECORD = '{"ContentHash":"Qm"}'


class SlowLists(InMemoryServiceRepository):
    """Lists take a while and count how many are being made at once."""

    def __init__(self) -> None:
        super().__init__()
        self.held = HeldCalls()

    async def list(self) -> dict[str, str]:
        return await self.held.hold(super().list)


async def test_lists_take_turns_and_gets_do_not_wait_for_them() -> None:
    repository = SlowLists()
    await repository.put("svc", RECORD)
    handler = RegistryRequestHandler(repository, InMemoryClusterMembership(), RecordingMetrics())
    server = build_host(NodeSettings(key_pair=ephemeral_identity()))
    client_host = build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))
    Libp2pRegistryServer(handler).attach(server)
    answers: list[bytes] = []
    async with server.run([LOOPBACK]), client_host.run([]):
        peer = PeerInfo(server.get_id(), server.get_addrs())
        await client_host.connect(peer)
        client = Libp2pRegistryClient(client_host, None, only=peer)  # type: ignore[arg-type]

        async def list_once() -> None:
            answers.append(await client.request("/list/0.1", b""))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(LISTS_AT_ONCE + 3):
                    nursery.start_soon(list_once)
                while repository.held.now < LISTS_AT_ONCE:
                    await trio.sleep(0.01)
                await trio.sleep(0.2)  # time for any more to start, were they allowed to
                assert repository.held.now == LISTS_AT_ONCE
                assert b'"LookupOk":true' in await client.request("/get/0.1", b"svc")  # not held up
                repository.held.release.set()
    assert repository.held.most == LISTS_AT_ONCE
    assert len(answers) == LISTS_AT_ONCE + 3 and all(b'"svc"' in a for a in answers)
