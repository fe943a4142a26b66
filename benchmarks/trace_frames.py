"""Profile aid: the Yamux frames one request/response exchange costs on our stack.

Run: .venv/bin/python benchmarks/trace_frames.py [--requests 200] [--stock]

Two nodes in this process (TCP + PSK + Noise + Yamux, as registry-service and its
clients build them) exchange a 13-byte request and a 200-byte answer on a new
stream each time, like /get/0.1. Prints the frames of one warm exchange (C =
client, S = server) and the average frame count and CPU per exchange. Every
frame is one Noise encryption, one PSK pass and one socket send.

Default: our path (adapters/libp2p/upstream/yamux_window.py, pipelined_multiselect.py on the
server, pipelined_request.py on the client). --stock: the bare py-libp2p stack
(upstream.use_fast_path left out) at both ends, the client negotiating in
lock-step, writing and half-closing as py-libp2p's API suggests.
"""

from __future__ import annotations

import argparse
import struct
import time

import trio
from libp2p.custom_types import TProtocol
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux import yamux

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.pipelined_request import read_pipelined_reply, send_pipelined
from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.upstream.final_write import write_final
from domain import parse_bootstrap

PROTOCOL = TProtocol("/trace/0.1")
KINDS = {0: "DATA", 1: "WINDOW_UPDATE", 2: "PING", 3: "GO_AWAY"}
FLAGS = ((1, "SYN"), (2, "ACK"), (4, "FIN"), (8, "RST"))
frames: list[str] = []
messages: list[str] = []  # Noise messages that carried Yamux frames


def _trace() -> None:
    """Every Yamux frame as it reaches the secure channel (one Noise message each)."""
    write = SecureSession.write

    async def traced(self: SecureSession, data: bytes) -> None:
        side = "C" if self.is_initiator else "S"
        at, joined = 0, ""
        while len(data) - at >= 12 and data[at] == 0 and data[at + 1] in KINDS:
            _, kind, flags, _, length = struct.unpack(
                yamux.YAMUX_HEADER_FORMAT, data[at:at + 12])
            names = "+".join(name for bit, name in FLAGS if flags & bit)
            frames.append(f"{side} {joined:<2}{KINDS[kind]:<13} {names:<11} length {length}")
            at += 12 + (length if kind == 0 else 0)
            joined = "+"  # the same Noise message as the frame above
        if at:
            messages.append(side)
        await write(self, data)

    SecureSession.write = traced  # type: ignore[method-assign]


async def main(requests: int, stock: bool) -> None:
    psk = b"k" * 32
    server_settings = NodeSettings(ephemeral_identity(), psk=psk, listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(server_settings) as server:

        async def answer(stream):  # type: ignore[no-untyped-def]
            await read_to_end(stream, 1 << 20)
            if stock:
                await stream.write(b"x" * 200)
            else:
                await write_final(stream, b"x" * 200)
            await stream.close()

        server.host.set_stream_handler(PROTOCOL, answer)
        client_settings = NodeSettings(ephemeral_identity(), psk=psk, dht_server=False)
        async with running_node(client_settings) as client:
            assert not await connect_bootstraps(
                client, [parse_bootstrap(server.full_addrs()[0])], 5)

            async def one() -> None:
                if stock:
                    stream = await client.host.new_stream(server.peer_id, [PROTOCOL])
                    await stream.write(b"bench-service")
                    await stream.close_write()  # type: ignore[attr-defined]
                    await read_to_end(stream, 1 << 20)
                else:
                    stream = await send_pipelined(
                        client.host, server.peer_id, PROTOCOL, b"bench-service", close=True)
                    await read_pipelined_reply(stream, PROTOCOL, 1 << 20, closed=True)
                await stream.close()

            for _ in range(20):
                await one()
            frames.clear()
            await one()
            await trio.sleep(0.05)  # let the last frames of both ends go out
            print("frames of one exchange:")
            print("\n".join(f"  {f}" for f in frames))
            frames.clear()
            messages.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                await one()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{len(frames) / requests:.1f} frames in {len(messages) / requests:.1f} Noise messages "
          "per exchange (both ends); "
          f"{cpu / requests * 1000:.2f} ms CPU and {wall / requests * 1000:.2f} ms wall each "
          "(client and server in this one process)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--stock", action="store_true",
                        help="py-libp2p's own Yamux and multistream-select, lock-step client")
    args = parser.parse_args()
    if args.stock:
        from bare_stack import use_bare_stack

        use_bare_stack(True)
    _trace()
    trio.run(main, args.requests, args.stock)
