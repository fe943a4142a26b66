"""Profile aid: the Yamux frames one request/response exchange costs on our stack.

Run: .venv/bin/python benchmarks/trace_frames.py [--requests 200] [--stock-yamux]

Two nodes in this process (TCP + PSK + Noise + Yamux, as registry-service and its
clients build them) exchange a 13-byte request and a 200-byte answer on a new
stream each time, like /get/0.1. Prints the frames of one warm exchange (C =
client, S = server) and the average frame count and CPU per exchange. Every
frame is one Noise encryption, one PSK pass and one socket send.
"""

from __future__ import annotations

import argparse
import struct
import time

import trio
from libp2p.custom_types import TProtocol
from libp2p.stream_muxer.yamux import yamux

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.stream_io import read_to_end
from domain import parse_bootstrap

PROTOCOL = TProtocol("/trace/0.1")
KINDS = {0: "DATA", 1: "WINDOW_UPDATE", 2: "PING", 3: "GO_AWAY"}
FLAGS = ((1, "SYN"), (2, "ACK"), (4, "FIN"), (8, "RST"))
frames: list[str] = []


def _trace() -> None:
    write_frame = yamux.Yamux._write_frame

    async def traced(self: yamux.Yamux, data: bytes) -> None:
        _, kind, flags, _, length = struct.unpack(yamux.YAMUX_HEADER_FORMAT, data[:12])
        names = "+".join(name for bit, name in FLAGS if flags & bit)
        side = "C" if self.is_initiator_value else "S"
        frames.append(f"{side} {KINDS[kind]:<13} {names:<7} length {length}")
        await write_frame(self, data)

    yamux.Yamux._write_frame = traced  # type: ignore[method-assign]


async def main(requests: int) -> None:
    psk = b"k" * 32
    server_settings = NodeSettings(ephemeral_identity(), psk=psk, listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(server_settings) as server:

        async def answer(stream):  # type: ignore[no-untyped-def]
            await read_to_end(stream, 1 << 20)
            await stream.write(b"x" * 200)
            await stream.close()

        server.host.set_stream_handler(PROTOCOL, answer)
        client_settings = NodeSettings(ephemeral_identity(), psk=psk, dht_server=False)
        async with running_node(client_settings) as client:
            assert not await connect_bootstraps(
                client, [parse_bootstrap(server.full_addrs()[0])], 5)

            async def one() -> None:
                stream = await client.host.new_stream(server.peer_id, [PROTOCOL])
                await stream.write(b"bench-service")
                await stream.close_write()  # type: ignore[attr-defined]
                await read_to_end(stream, 1 << 20)
                await stream.close()

            for _ in range(20):
                await one()
            frames.clear()
            await one()
            await trio.sleep(0.05)  # let the last frames of both ends go out
            print("frames of one exchange:")
            print("\n".join(f"  {f}" for f in frames))
            frames.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                await one()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{len(frames) / requests:.1f} frames per exchange (both ends); "
          f"{cpu / requests * 1000:.2f} ms CPU and {wall / requests * 1000:.2f} ms wall each "
          "(client and server in this one process)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--stock-yamux", action="store_true",
                        help="py-libp2p's own Yamux instead of adapters/libp2p/yamux_window.py")
    args = parser.parse_args()
    if args.stock_yamux:
        import adapters.libp2p.node

        adapters.libp2p.node.use_batched_window_yamux = lambda network: None
    _trace()
    trio.run(main, args.requests)
