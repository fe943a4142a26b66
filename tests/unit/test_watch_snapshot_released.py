"""adapters/libp2p/watch_server.py: a watch keeps no copy of the snapshot it was sent,
which goes out whole and in order, a chunk at a time.

A watch lives for months; its serving task's frames live as long. When they kept the
list of first events (one PUT per record), each watcher held a copy of the registry:
~37 KB per watcher with 100 records (docs/performance.md).
"""

from __future__ import annotations

import gc

import msgspec
import multiaddr
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.watch_client import Libp2pWatchStream
from adapters.libp2p.watch_server import Libp2pWatchServer
from adapters.memory.revisioned import InMemoryRevisionedStore
from domain.watch_wire import WATCH_PROTOCOL, WatchEvent

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
RECORDS = 600  # more than two writes of FIRST_EVENTS_PER_WRITE


def lists_holding_snapshot_events() -> int:
    gc.collect()
    return sum(
        1 for o in gc.get_objects()
        if isinstance(o, list) and o and isinstance(o[0], WatchEvent)
        and any(isinstance(e, WatchEvent) and (e.name or "").startswith("snap-") for e in o)
    )


async def test_an_open_watch_holds_no_list_of_its_snapshot_events() -> None:
    store = InMemoryRevisionedStore()
    for i in range(RECORDS):
        await store.put_if(f"snap-{i:03}", '{"ContentHash":"Qm"}', None)
    watch_server = Libp2pWatchServer(store.hub, store)
    server = build_host(NodeSettings(key_pair=ephemeral_identity()))
    client = build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))
    watch_server.attach(server)
    async with server.run([LOOPBACK]), client.run([]):
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        with trio.fail_after(10):
            stream = await client.new_stream(server.get_id(), [TProtocol(WATCH_PROTOCOL)])
            await stream.write(b"{}")
            await stream.close_write()
            watch = Libp2pWatchStream("server", stream)
            names = []
            while b'"SYNCED"' not in (line := await watch.next_line() or b'"SYNCED"'):
                names.append(msgspec.json.decode(line, type=WatchEvent).name)
            assert names == [f"snap-{i:03}" for i in range(RECORDS)]  # whole, in order
            assert watch_server.open_watches == 1  # and the watch is still served
            assert lists_holding_snapshot_events() == 0
            await store.put_if("after", '{"ContentHash":"Qm"}', None)
            assert b'"after"' in (await watch.next_line() or b"")  # it still follows
            await watch.close()
