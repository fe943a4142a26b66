"""adapters/libp2p/timing_survey.py on real hosts over loopback (TCP + PSK + Noise + Yamux).

On a slow, lossy link a new member may not finish its 10 pings within the time it gives
each peer. What the peer answered by then must count: before, the whole peer was left
out, and a member joining across 500 ms links measured nobody and ran etcd's defaults.
"""

from __future__ import annotations

import pytest
import trio
from libp2p.host.ping import ID as PING_PROTOCOL
from libp2p.host.ping import PING_LENGTH

from adapters.libp2p import timing_survey
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from adapters.libp2p.timing_survey import Libp2pTimingSurvey
from domain import parse_bootstrap

PSK = b"s" * 32
PONG_DELAY = 0.6


async def test_a_peer_too_slow_for_every_ping_counts_with_the_pings_it_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timing_survey, "PEER_TIMEOUT", 2.5)
    async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                         listen=["/ip4/127.0.0.1/tcp/0"])) as far:
        answered = 0

        async def slow_pong(stream):  # type: ignore[no-untyped-def]
            # /ipfs/ping/1.0.0 as any host answers it, each pong PONG_DELAY late
            nonlocal answered
            while True:
                payload = b""
                while len(payload) < PING_LENGTH:
                    chunk = await stream.read(PING_LENGTH - len(payload))
                    if not chunk:
                        return
                    payload += chunk
                await trio.sleep(PONG_DELAY)
                await stream.write(payload)
                answered += 1

        far.host.set_stream_handler(PING_PROTOCOL, slow_pong)
        async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                             dht_server=False)) as joiner:
            survey = Libp2pTimingSurvey(joiner, [parse_bootstrap(far.full_addrs()[0])])
            started = trio.current_time()
            [peer] = await survey.survey(measure=True)
            took = trio.current_time() - started

    assert peer.peer == str(far.peer_id)
    assert peer.timing is None  # no /status/0.1 on this host
    # 10 pings would take 6 s; within 2.5 s it answered some, and those count
    assert 2 <= len(peer.round_trips_ms) < timing_survey.PINGS, peer
    assert all(rtt >= PONG_DELAY * 1000 for rtt in peer.round_trips_ms), peer
    assert took < 2.5 + 1.5, took
    assert answered >= len(peer.round_trips_ms)
