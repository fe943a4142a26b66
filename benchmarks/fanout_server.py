"""Baseline for bench_watch: bare py-libp2p fan-out on the registry's stack, no etcd, no hub.

It speaks just enough of `/watch/0.1` and `/add/0.2` for the watchers and writers of
bench_watch and bench_scale (a SYNCED line when a watch opens, no PROGRESS): each add
writes one PUT line, the same bytes registry-service would send, to every open watch
stream in turn, then answers. The difference to registry-service is
exactly etcd, the in-memory copy and the watch hub. Prints its address, serves until
killed.
"""

from __future__ import annotations

import sys

import msgspec
import trio
from libp2p.custom_types import TProtocol

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.watch_server import event_line
from domain.psk import psk_from_passphrase
from domain.revision_wire import ADD_IF_PROTOCOL, AddIfRequest, WriteResult
from domain.watch_wire import WATCH_PROTOCOL, EventType, WatchEvent


async def main(passphrase: str) -> None:
    settings = NodeSettings(
        key_pair=ephemeral_identity(), psk=psk_from_passphrase(passphrase),
        listen=["/ip4/127.0.0.1/tcp/0"],
    )
    streams: list = []  # type: ignore[type-arg]
    revision = 1
    async with running_node(settings) as node:

        async def watch(stream):  # type: ignore[no-untyped-def]
            await read_to_end(stream, 1 << 16)
            # What registry-service sends after its (here empty) snapshot.
            await stream.write(event_line(WatchEvent(type=EventType.SYNCED, revision=revision)))
            streams.append(stream)
            await trio.sleep_forever()

        async def add(stream):  # type: ignore[no-untyped-def]
            nonlocal revision
            request = msgspec.json.decode(await read_to_end(stream, 1 << 20), type=AddIfRequest)
            revision += 1
            line = event_line(WatchEvent(type=EventType.PUT, name=request.name,
                                         info_str=request.info_str, revision=revision))
            for watcher in list(streams):
                try:
                    await watcher.write(line)
                except Exception:  # a watcher of an earlier round, gone
                    streams.remove(watcher)
            await stream.write(msgspec.json.encode(WriteResult(ok=True, revision=revision)))
            await stream.close()

        node.host.set_stream_handler(TProtocol(WATCH_PROTOCOL), watch)
        node.host.set_stream_handler(TProtocol(ADD_IF_PROTOCOL), add)
        print(node.full_addrs()[0], flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
