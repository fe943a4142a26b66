"""adapters/libp2p/upstream/stream_slots.py: streams per inbound connection, bounded."""

from __future__ import annotations

import logging

import multiaddr
import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.pipelined_request import read_pipelined_reply, send_pipelined
from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.upstream.final_write import write_final
from adapters.libp2p.upstream.stream_slots import REFUSAL_LOG_INTERVAL, StreamSlots, stream_slots_of

HOLD = TProtocol("/hold/1.0.0")
LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")


def knows_protocols_of(host, peer) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(host.get_peerstore().get_protocols(peer.get_id()))
    except Exception:  # not in the peerstore yet
        return False


class Conn:
    pass


def test_slots_are_per_connection_and_given_back(caplog) -> None:
    now = [0.0]
    slots = StreamSlots(2, clock=lambda: now[0])
    one, two = Conn(), Conn()
    assert slots.take(one) and slots.take(one)
    caplog.set_level(logging.INFO, logger="adapters.libp2p.upstream.stream_slots")
    assert not slots.take(one) and not slots.take(one)
    assert slots.take(two)  # another connection has its own
    slots.give_back(one)
    assert slots.take(one)
    assert slots.refused == 2
    lines = [r for r in caplog.records if "refused a stream" in r.getMessage()]
    assert len(lines) == 1  # at most once per interval
    now[0] += REFUSAL_LOG_INTERVAL
    assert not slots.take(one)
    assert len([r for r in caplog.records if "refused a stream" in r.getMessage()]) == 2


def test_a_connection_that_goes_takes_its_count_with_it() -> None:
    slots = StreamSlots(1)
    conn = Conn()
    assert slots.take(conn)
    del conn
    assert len(slots._open) == 0


async def test_a_stream_over_the_limit_is_refused_readably_and_the_others_go_on() -> None:
    server = build_host(NodeSettings(key_pair=ephemeral_identity(), max_streams_per_connection=2))
    client = build_host(NodeSettings(key_pair=ephemeral_identity(), dht_server=False))
    release = trio.Event()
    served = []

    async def hold(stream) -> None:  # type: ignore[no-untyped-def]
        request = await read_to_end(stream, 1024)
        await release.wait()
        served.append(request)
        await write_final(stream, b"done " + request)

    server.set_stream_handler(HOLD, hold)
    async with server.run([LOOPBACK]), client.run([]), trio.open_nursery() as nursery:
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        slots = stream_slots_of(server)
        assert slots is not None
        with trio.fail_after(5):  # identify's streams (each way) done: only ours count below
            while not (knows_protocols_of(client, server) and knows_protocols_of(server, client)
                       and not slots._open):
                await trio.sleep(0.01)
        refused_before = slots.refused
        answers: list[bytes] = []

        async def ask(payload: bytes) -> None:
            stream = await send_pipelined(client, server.get_id(), HOLD, payload, close=True)
            answers.append(await read_pipelined_reply(stream, HOLD, 1024, closed=True))

        nursery.start_soon(ask, b"one")
        nursery.start_soon(ask, b"two")
        with trio.fail_after(5):
            while sum(slots.open_on(c) for c in list(slots._open)) < 2:
                await trio.sleep(0.01)
        with pytest.raises(Exception, match="--max-streams-per-connection"):
            await ask(b"three")
        assert slots.refused == refused_before + 1
        release.set()
        with trio.fail_after(5):
            while len(answers) < 2:
                await trio.sleep(0.01)
        assert sorted(answers) == [b"done one", b"done two"]
        await ask(b"four")  # slots given back
        assert answers[-1] == b"done four"
        nursery.cancel_scope.cancel()
