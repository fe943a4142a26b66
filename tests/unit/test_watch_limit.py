"""adapters/libp2p/watch_server.py: at most --max-watches watches at once, a readable refusal."""

from __future__ import annotations

import msgspec
import multiaddr
import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo
from prometheus_client import CollectorRegistry

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.watch_client import Libp2pWatchStream
from adapters.libp2p.watch_server import Libp2pWatchServer
from adapters.memory.revisioned import InMemoryRevisionedStore
from adapters.prometheus.watch_metrics import register_watch_metrics
from domain.watch_wire import WATCH_PROTOCOL, WatchEvent

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")


def test_the_limit_is_at_least_one() -> None:
    store = InMemoryRevisionedStore()
    with pytest.raises(ValueError, match="at least 1"):
        Libp2pWatchServer(store.hub, store, max_watches=0)


async def test_a_watch_over_the_limit_gets_the_reason_and_the_served_one_goes_on() -> None:
    store = InMemoryRevisionedStore()
    watch_server = Libp2pWatchServer(store.hub, store, max_watches=1)
    server = build_host(NodeSettings(key_pair=ephemeral_identity()))
    client = build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))
    watch_server.attach(server)
    metrics = CollectorRegistry()
    register_watch_metrics(metrics, lambda: store.hub.watchers, lambda: watch_server.events_sent,
                           lambda: store.hub.dropped_behind, lambda: watch_server.refused)

    async def open_watch() -> Libp2pWatchStream:
        stream = await client.new_stream(server.get_id(), [TProtocol(WATCH_PROTOCOL)])
        await stream.write(b"{}")
        await stream.close_write()
        return Libp2pWatchStream("server", stream)

    async def next_event(watch: Libp2pWatchStream) -> WatchEvent:
        line = await watch.next_line()
        assert line is not None
        return msgspec.json.decode(line, type=WatchEvent)

    async with server.run([LOOPBACK]), client.run([]):
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        with trio.fail_after(10):
            served = await open_watch()
            assert (await next_event(served)).type == "SYNCED"
            refused = await open_watch()
            refusal = await next_event(refused)
            assert refusal.type == "ERROR"
            assert refusal.error == (
                "watch limit reached: this registry-service serves at most 1 watches at once "
                "(--max-watches); try again later or another instance")
            assert await refused.next_line() is None  # then the stream ends
            assert watch_server.refused == 1
            assert metrics.get_sample_value("registry_watches_refused_total") == 1
            await store.put_if("svc", '{"ContentHash":"Qm"}', None)
            assert (await next_event(served)).name == "svc"  # the served one goes on
            await served.close()
            while watch_server.open_watches:
                await trio.sleep(0.01)
            again = await open_watch()  # its slot was given back
            assert (await next_event(again)).type == "PUT"
