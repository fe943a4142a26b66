"""adapters/libp2p/upstream/inbound_connection_task.py: an inbound connection is one task.

Real hosts over loopback. The "upstream" test pins what py-libp2p 0.8.1 does (an accept
loop per connection, fed by a memory channel); when it fails after an upgrade, the
change is to be looked at again.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import multiaddr
import pytest
import trio
from libp2p.abc import INotifee
from libp2p.custom_types import TProtocol
from libp2p.network.connection.swarm_connection import SwarmConn
from libp2p.peer.peerinfo import PeerInfo
from libp2p.stream_muxer.yamux.yamux import Yamux
from trio_tasks import all_tasks, awaiting

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, build_host
from adapters.libp2p.pnet import PskConnection
from adapters.libp2p.set_events import SET
from adapters.libp2p.upstream.inbound_connection_task import StreamsToHandlers
from adapters.libp2p.upstream.inbound_slots import inbound_slots_of

LOOPBACK = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
PSK = b"t" * 32
ECHO = TProtocol("/echo/1")


def _host(**extra: Any) -> Any:
    return build_host(NodeSettings(key_pair=ephemeral_identity(), psk=PSK, **extra))


def _tasks_in(name: str) -> list[list[str]]:
    return [names for names in map(awaiting, all_tasks()) if name in names]


async def _echo(stream: Any) -> None:
    await stream.write(await stream.read(100))
    await stream.close()


async def _wait_for(check: Any, within: float = 5.0) -> None:
    with trio.fail_after(within):
        while not check():
            await trio.sleep(0.02)


def test_upstream_accepts_each_new_stream_in_a_loop_fed_by_a_memory_channel() -> None:
    assert "accept_stream" in inspect.getsource(SwarmConn._handle_new_streams)
    assert "_handle_new_streams" in inspect.getsource(inspect.unwrap(SwarmConn.start))
    assert "new_stream_receive_channel.receive" in inspect.getsource(Yamux.accept_stream)
    assert "new_stream_send_channel.send" in inspect.getsource(Yamux.handle_incoming)


async def test_an_inbound_connection_is_read_by_its_listeners_task_with_no_accept_loop() -> None:
    server, client = _host(), _host(dht_server=False)
    server.set_stream_handler(ECHO, _echo)
    async with server.run(listen_addrs=[LOOPBACK]), client.run(listen_addrs=[]):
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        (inbound,) = server.get_network().connections[client.get_id()]
        (outbound,) = client.get_network().connections[server.get_id()]
        assert type(inbound.muxed_conn.new_stream_send_channel) is StreamsToHandlers
        assert type(outbound.muxed_conn.new_stream_send_channel) is not StreamsToHandlers
        # Two read loops (one per side); the inbound one in the listener's task.
        loops = _tasks_in("handle_incoming")
        assert len(loops) == 2, loops
        assert sum("read_until_closed" in names and "_serve_until_closed" in names
                   for names in loops) == 1, loops
        # One accept loop: the client's, for its outbound connection.
        assert len(_tasks_in("_handle_new_streams")) == 1
        # Set for good, so one shared Event (set_events.py) for both sides.
        assert inbound.event_started is SET
        assert inbound.muxed_conn.event_started is outbound.muxed_conn.event_started is SET
        # The PSK transport's connection goes to the upgrade as it is, unwrapped.
        noise = inbound.muxed_conn.secured_conn.conn
        assert type(noise.read_writer.read_write_closer) is PskConnection
        await client.close()
        await server.close()


async def test_streams_the_client_opens_reach_their_handlers_beside_the_read_loop() -> None:
    server, client = _host(), _host(dht_server=False)
    in_connection_task: list[bool] = []

    async def echo_and_tell_where(stream: Any) -> None:
        task = trio.lowlevel.current_task()
        in_connection_task.append("read_until_closed" in awaiting(task.parent_nursery.parent_task))
        await _echo(stream)

    server.set_stream_handler(ECHO, echo_and_tell_where)
    async with server.run(listen_addrs=[LOOPBACK]), client.run(listen_addrs=[]):
        await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        answers: list[bytes] = []

        async def ask(n: int) -> None:
            stream = await client.new_stream(server.get_id(), [ECHO])
            await stream.write(b"%d" % n)
            answers.append(await stream.read(100))
            await stream.close()

        async with trio.open_nursery() as nursery:
            for n in range(20):
                nursery.start_soon(ask, n)
        assert sorted(answers) == sorted(b"%d" % n for n in range(20))
        assert len(in_connection_task) == 20 and all(in_connection_task)
        await client.close()
        await server.close()


async def test_a_connection_either_side_closes_ends_its_task_leaves_the_swarm_and_frees_its_slot(
) -> None:
    server = _host()
    server.set_stream_handler(ECHO, _echo)
    slots = inbound_slots_of(server.get_network())
    assert slots is not None
    async with server.run(listen_addrs=[LOOPBACK]):
        for server_closes in (False, True, False, True):
            client = _host(dht_server=False)
            async with client.run(listen_addrs=[]):
                await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
                await _wait_for(lambda: len(_tasks_in("read_until_closed")) == 1)
                stream = await client.new_stream(server.get_id(), [ECHO])
                await stream.write(b"x")
                assert await stream.read(100) == b"x"
                if server_closes:
                    await server.get_network().close_peer(client.get_id())
                await client.close()
            await _wait_for(lambda: not _tasks_in("read_until_closed") and slots.open == 0)
            assert not server.get_network().connections
        await server.close()


async def test_the_slot_is_free_once_the_connection_is_closed_not_after_its_clean_up() -> None:
    """py-libp2p's SwarmConn clean-up sleeps 0.1 s after a connection closes, then tells
    the notifees; by then the connection's slot must already be free for the next client."""
    server = _host(max_inbound_connections=1)
    slots = inbound_slots_of(server.get_network())
    assert slots is not None
    open_when_told: list[int] = []

    class SlotsWhenDisconnected(INotifee):
        async def opened_stream(self, network: Any, stream: Any) -> None: ...
        async def closed_stream(self, network: Any, stream: Any) -> None: ...
        async def connected(self, network: Any, conn: Any) -> None: ...
        async def listen(self, network: Any, multiaddr: Any) -> None: ...
        async def listen_close(self, network: Any, multiaddr: Any) -> None: ...

        async def disconnected(self, network: Any, conn: Any) -> None:
            open_when_told.append(slots.open)

    server.get_network().register_notifee(SlotsWhenDisconnected())
    async with server.run(listen_addrs=[LOOPBACK]):
        for _ in range(3):
            client = _host(dht_server=False)
            async with client.run(listen_addrs=[]):
                await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
                await client.close()
        await _wait_for(lambda: len(open_when_told) == 3)
        assert open_when_told == [0, 0, 0]
        assert slots.refused == 0
        await server.close()


async def test_a_stream_failing_outside_its_handler_ends_its_connection_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """Handlers are guarded (pipelined_multiselect.py); a fault in py-libp2p's stream
    set-up around one would otherwise end the listener's task group, and the host."""
    upstream = SwarmConn._handle_muxed_stream

    async def failing_set_up(self: SwarmConn, muxed_stream: Any) -> None:
        if getattr(self, "fail_next", False):
            raise ValueError("stream set-up bug")
        await upstream(self, muxed_stream)

    monkeypatch.setattr(SwarmConn, "_handle_muxed_stream", failing_set_up)
    server = _host()
    server.set_stream_handler(ECHO, _echo)
    async with server.run(listen_addrs=[LOOPBACK]):
        client = _host(dht_server=False)
        async with client.run(listen_addrs=[]):
            await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
            (inbound,) = server.get_network().connections[client.get_id()]
            inbound.fail_next = True
            with contextlib.suppress(Exception):
                await client.new_stream(server.get_id(), [ECHO])
            await _wait_for(lambda: "a stream failed: " in caplog.text)
            await _wait_for(lambda: not server.get_network().connections)
            await client.close()
        again = _host(dht_server=False)  # the listener still serves
        async with again.run(listen_addrs=[]):
            await again.connect(PeerInfo(server.get_id(), server.get_addrs()))
            stream = await again.new_stream(server.get_id(), [ECHO])
            await stream.write(b"still here")
            assert await stream.read(100) == b"still here"
            await again.close()
        await server.close()
