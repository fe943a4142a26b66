"""Baseline server: a bare py-libp2p handler on the registry's stack (TCP+PSK+Noise+Yamux).

It answers each stream with a fixed body of the same size as a get response,
using the same half-close framing, so the difference to registry-service is
exactly our handler plus etcd. Prints its address, serves until killed.
"""

from __future__ import annotations

import sys

import trio
from bare_stack import use_bare_stack
from libp2p.custom_types import TProtocol

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from adapters.libp2p.stream_io import read_to_end
from domain.psk import psk_from_passphrase

ECHO_PROTOCOL = TProtocol("/bench-echo/0.1")


async def main(passphrase: str, body_size: int) -> None:
    body = b"x" * body_size
    settings = NodeSettings(
        key_pair=ephemeral_identity(), psk=psk_from_passphrase(passphrase),
        listen=["/ip4/127.0.0.1/tcp/0"],
    )
    async with running_node(settings) as node:

        async def echo(stream):  # type: ignore[no-untyped-def]
            try:
                await read_to_end(stream, 1 << 20)
                await stream.write(body)
                await stream.close()
            except Exception:
                await stream.reset()

        node.host.set_stream_handler(ECHO_PROTOCOL, echo)
        print(node.full_addrs()[0], flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    # The bare py-libp2p stack: none of adapters/libp2p's replacements.
    use_bare_stack(True)
    trio.run(main, sys.argv[1], int(sys.argv[2]))
