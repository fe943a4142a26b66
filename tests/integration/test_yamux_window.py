"""adapters/libp2p/upstream/yamux_window.py on real hosts over loopback (TCP + PSK + Noise + Yamux).

Window updates are batched as go-yamux batches them: a small request/response
costs half the frames py-libp2p's own Yamux sends, and flow control still lets
transfers far larger than the window through, both ways.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux import yamux
from libp2p.utils.varint import encode_delim
from trio_tasks import all_tasks, awaiting

from adapters.libp2p import upstream
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import Libp2pNode, NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.pipelined_request import read_pipelined_reply, send_pipelined
from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.upstream.final_write import write_final
from adapters.libp2p.upstream.yamux_window import BatchedWindowYamux
from domain import parse_bootstrap

ECHO = TProtocol("/test-echo/0.1")
PSK = b"w" * 32


@asynccontextmanager
async def two_nodes(
    *, final_write: bool = False, bare_server: bool = False,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> AsyncIterator[tuple[Libp2pNode, Libp2pNode]]:
    if bare_server:
        assert monkeypatch is not None
        bare_py_libp2p(monkeypatch)
    async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                         listen=["/ip4/127.0.0.1/tcp/0"])) as server:
        if monkeypatch is not None:
            monkeypatch.undo()  # the client is always ours

        async def echo(stream):  # type: ignore[no-untyped-def]
            request = await read_to_end(stream, 64 << 20)
            if final_write:
                await write_final(stream, request)
            else:
                await stream.write(request)
            await stream.close()

        server.host.set_stream_handler(ECHO, echo)
        async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                             dht_server=False)) as client:
            failures = await connect_bootstraps(
                client, [parse_bootstrap(server.full_addrs()[0])], 5)
            assert not failures
            yield server, client


async def exchange(client: Libp2pNode, server: Libp2pNode, payload: bytes) -> bytes:
    stream = await client.host.new_stream(server.peer_id, [ECHO])
    await stream.write(payload)
    await stream.close_write()  # type: ignore[attr-defined]
    reply = await read_to_end(stream, 64 << 20)
    await stream.close()
    return reply


def count_frames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every Yamux frame (kind, flags) as it reaches the secure channel; a frame written in
    the same Noise message as the one before it is marked with kind + 16."""
    seen: list[tuple[int, int]] = []
    write = SecureSession.write

    async def counted(self: SecureSession, data: bytes) -> None:
        at, joined = 0, 0
        while len(data) - at >= 12 and data[at] == 0 and data[at + 1] in (0, 1, 2, 3):
            _, kind, flags, _, length = struct.unpack(
                yamux.YAMUX_HEADER_FORMAT, data[at:at + 12])
            seen.append((kind + joined, flags))
            at += 12 + (length if kind == 0 else 0)
            joined = 16
        await write(self, data)

    monkeypatch.setattr(SecureSession, "write", counted)
    return seen


def noise_messages(seen: list[tuple[int, int]]) -> int:
    return sum(1 for kind, _ in seen if kind < 16)


async def frames_of_small_exchanges(monkeypatch: pytest.MonkeyPatch) -> float:
    seen = count_frames(monkeypatch)
    async with two_nodes() as (server, client):
        for _ in range(5):
            await exchange(client, server, b"bench-service")
        seen.clear()
        for _ in range(20):
            assert await exchange(client, server, b"bench-service") == b"bench-service"
        await trio.sleep(0.1)
        return len(seen) / 20


async def test_our_hosts_mux_with_the_batched_window_yamux_and_its_dict_stays_compact() -> None:
    # CPython 3.11 keeps at most 28 attributes in an instance's compact (shared-key)
    # dict: past that, each connection's muxer __dict__ took 1 584 bytes instead of 288.
    # py-libp2p, the swarm and the swarm connection set 28; ours live on stream_buffers.
    async with two_nodes() as (server, client):
        await exchange(client, server, b"x")
        muxers = [connection.muxed_conn for node in (client, server)
                  for connections in node.host.get_network().connections.values()
                  for connection in connections]
        assert muxers
        for muxer in muxers:
            assert isinstance(muxer, BatchedWindowYamux)
            attributes = vars(muxer)
            assert len(attributes) <= 28, sorted(attributes)
            assert sys.getsizeof(attributes) < 600


def bare_py_libp2p(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nodes built from here on run py-libp2p's own Yamux and multistream-select."""
    monkeypatch.setattr(upstream, "use_fast_path", lambda host: None)


async def test_a_small_exchange_costs_half_the_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = await frames_of_small_exchanges(monkeypatch)
    bare_py_libp2p(monkeypatch)
    stock = await frames_of_small_exchanges(monkeypatch)
    # Lock-step client: SYN (a window update) and header in one write, ACK and header
    # echo in one, protocol, protocol echo, request, FIN, answer, FIN.
    print(f"frames per exchange: ours {ours}, py-libp2p's {stock}")
    assert ours <= 10.5
    assert stock >= 2 * ours - 1


async def pipelined(client: Libp2pNode, server: Libp2pNode, payload: bytes, *,
                    close: bool) -> bytes:
    stream = await send_pipelined(client.host, server.peer_id, ECHO, payload, close=close)
    try:
        return await read_pipelined_reply(stream, ECHO, 64 << 20, closed=close)
    finally:
        await stream.close()


async def test_a_pipelined_request_is_two_noise_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = count_frames(monkeypatch)
    async with two_nodes(final_write=True) as (server, client):
        for _ in range(5):
            await pipelined(client, server, b"bench-service", close=True)
        seen.clear()
        for _ in range(20):
            assert await pipelined(client, server, b"bench-service", close=True) == (
                b"bench-service")
        await trio.sleep(0.1)
    # SYN (a window update), request and FIN; ACK, echoes, answer and FIN.
    assert noise_messages(seen) / 20 <= 2.2, seen[:12]
    assert len(seen) / 20 <= 6.2, seen[:12]
    acks = [i for i, (kind, flags) in enumerate(seen) if flags == yamux.FLAG_ACK]
    assert len(acks) == 20
    assert all(seen[i + 1] == (16 + yamux.TYPE_DATA, 0) for i in acks), seen[:12]


@pytest.mark.parametrize("close", [True, False], ids=["early-half-close", "after-echoes"])
@pytest.mark.parametrize("server_stack", ["ours", "bare-py-libp2p"])
async def test_pipelined_requests_are_answered_by_any_listener(
    monkeypatch: pytest.MonkeyPatch, server_stack: str, close: bool,
) -> None:
    async with two_nodes(bare_server=server_stack != "ours", monkeypatch=monkeypatch) as (
        server, client,
    ):
        with trio.fail_after(10):
            for size in (0, 13, 200_000, 3 << 20):
                payload = bytes(range(256)) * (size // 256)
                assert await pipelined(client, server, payload, close=close) == payload


async def test_a_listener_without_the_protocol_says_so_to_a_pipelined_request() -> None:
    from libp2p.protocol_muxer.exceptions import ProtocolNotSupportedError

    async with two_nodes() as (server, client):
        for close in (True, False):
            stream = await send_pipelined(client.host, server.peer_id, "/nobody/1",
                                          b'{"Name": "x"}', close=close)
            with trio.fail_after(10), pytest.raises(ProtocolNotSupportedError):
                await read_pipelined_reply(stream, "/nobody/1", 1 << 20, closed=close)
            await stream.reset()


@pytest.mark.parametrize("size", [3 << 20])
async def test_transfers_far_larger_than_the_window_still_flow(size: int) -> None:
    payload = bytes(range(256)) * (size // 256)
    async with two_nodes() as (server, client):
        with trio.fail_after(60):  # a flow-control stall would hang here
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(exchange, client, server, payload)
            assert await exchange(client, server, payload) == payload


async def test_only_streams_we_opened_grow_their_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window updates we send: a stream the peer opened never gets more than Yamux's
    256 KiB from us (what a peer that honours flow control can make us buffer); our own
    streams ask for GROWN_WINDOW in their SYN (no stall before we have read half of a
    large answer). A peer that ignores flow control: the next test."""
    from adapters.libp2p.upstream.yamux_window import FLUSH_AT, GROWN_WINDOW

    increments = record_window_grants(monkeypatch)
    payload = bytes(range(256)) * (3 << 12)  # 3 MiB up, and the same back
    async with two_nodes() as (server, client):
        with trio.fail_after(30):
            assert await exchange(client, server, payload) == payload
    assert max(increments["server"]) < 2 * FLUSH_AT  # the upload: the peer's stream
    assert max(increments["client"]) >= GROWN_WINDOW - 256 * 1024  # the answer: ours


async def test_a_peers_stream_is_given_back_what_was_read_and_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """py-libp2p grants twice what a small read consumed, so the peer's window grows past
    256 KiB with every read; ours gives back exactly what was read, in batches."""
    from adapters.libp2p.upstream.yamux_window import FLUSH_AT

    increments = record_window_grants(monkeypatch)
    payload = bytes(range(256)) * (5 << 10)  # 1.25 MiB up, in writes of 1 000 bytes
    async with two_nodes() as (server, client):
        with trio.fail_after(30):
            stream = await client.host.new_stream(server.peer_id, [ECHO])
            for at in range(0, len(payload), 1000):
                await stream.write(payload[at:at + 1000])
            await stream.close_write()  # type: ignore[attr-defined]
            assert await read_to_end(stream, 64 << 20) == payload
            await stream.close()
    granted = sum(increments["server"])
    # All the stream carried: the multistream negotiation, then the payload.
    sent = len(encode_delim(b"/multistream/1.0.0") + encode_delim(ECHO.encode())) + len(payload)
    assert sent - FLUSH_AT <= granted <= sent, (granted, sent)


def record_window_grants(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    increments: dict[str, list[int]] = {"client": [], "server": []}
    write = SecureSession.write

    async def recorded(self: SecureSession, data: bytes) -> None:
        at = 0
        while len(data) - at >= 12 and data[at] == 0 and data[at + 1] in (0, 1, 2, 3):
            _, kind, flags, _, length = struct.unpack(yamux.YAMUX_HEADER_FORMAT, data[at:at + 12])
            # Window granted to streams the peer opened (flags 0), and to our own in their
            # SYN; the client opens the exchange's stream, the server opens others itself.
            side = "client" if self.is_initiator else "server"
            if kind == 1 and (flags == 0 or (flags == yamux.FLAG_SYN and side == "client")):
                increments[side].append(length)
            at += 12 + (length if kind == 0 else 0)
        await write(self, data)

    monkeypatch.setattr(SecureSession, "write", recorded)
    return increments


HOARD = TProtocol("/test-hoard/0.1")


@pytest.mark.parametrize("server_yamux", ["ours", "py-libp2p's"])
async def test_a_peer_that_ignores_flow_control_gets_no_more_than_the_window_buffered(
    server_yamux: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client writes 4 MiB of DATA frames to a stream whose handler is not reading, never
    waiting for window updates. Ours keeps Yamux's 256 KiB and ends the stream; the
    connection goes on. py-libp2p's own keeps it all (if that ever changes, the seam in
    upstream/yamux_window.py can go)."""
    release, seen = trio.Event(), trio.Event()
    server_side: dict[str, object] = {}

    async def hoard(stream):  # type: ignore[no-untyped-def]
        server_side["muxer"] = stream.muxed_stream.conn
        server_side["id"] = stream.muxed_stream.stream_id
        seen.set()
        await release.wait()
        with trio.fail_after(10):  # the end comes without the client's FIN
            server_side["read"] = len(await read_to_end(stream, 64 << 20))
        await stream.close()

    frame, frames = 64 * 1024, 64
    async with two_nodes(bare_server=server_yamux != "ours", monkeypatch=monkeypatch) as (
        server, client,
    ):
        server.host.set_stream_handler(HOARD, hoard)
        stream = await client.host.new_stream(server.peer_id, [HOARD])
        await stream.write(b"x")  # the handler starts
        with trio.fail_after(5):
            await seen.wait()
        muxer = stream.muxed_stream.conn  # type: ignore[attr-defined]
        stream_id = stream.muxed_stream.stream_id  # type: ignore[attr-defined]
        for _ in range(frames):  # straight to the wire: no send window is consulted
            header = struct.pack(yamux.YAMUX_HEADER_FORMAT, 0, yamux.TYPE_DATA, 0, stream_id, frame)
            async with muxer._write_lock:
                await muxer.secured_conn.write(header + bytes(frame))
        # The frames are in once an exchange sent after them is answered.
        assert await exchange(client, server, b"still serving") == b"still serving"
        buffered = len(server_side["muxer"].stream_buffers.get(server_side["id"], b""))  # type: ignore[attr-defined]
        release.set()
        if server_yamux == "ours":
            # "x" and the frames that fit the window, and nothing after the first that did not
            assert buffered == 1 + 3 * frame, buffered
            with trio.fail_after(15):
                while "read" not in server_side:
                    await trio.sleep(0.01)
            assert server_side["read"] == buffered  # then the end, with no FIN sent
        else:
            assert buffered >= frames * frame, buffered  # upstream still buffers it all
        await stream.reset()


@pytest.mark.parametrize("bad_frame", [
    struct.pack(yamux.YAMUX_HEADER_FORMAT, 0, 9, 0, 1, 0),
    struct.pack(yamux.YAMUX_HEADER_FORMAT, 0, yamux.TYPE_DATA, 0, 1, yamux.MAX_WINDOW_SIZE + 1),
], ids=["unknown-type", "oversized-data"])
async def test_a_peer_that_breaks_yamux_framing_loses_only_its_connection(
    bad_frame: bytes, caplog: pytest.LogCaptureFixture,
) -> None:
    """Our read loop (upstream/yamux_read_loop.py) closes the connection that broke the
    framing, as go-yamux does; py-libp2p's skipped an unknown frame's header and read on."""
    async with two_nodes() as (server, client):
        stream = await client.host.new_stream(server.peer_id, [ECHO])
        muxer = stream.muxed_stream.conn  # type: ignore[attr-defined]
        await stream.reset()
        async with muxer._write_lock:
            await muxer.secured_conn.write(bad_frame)
        with trio.fail_after(10):
            await muxer.event_closed.wait()  # the server closed it
        assert "closing the connection" in caplog.text
        async with running_node(NodeSettings(ephemeral_identity(), psk=PSK,
                                             dht_server=False)) as other:
            assert not await connect_bootstraps(
                other, [parse_bootstrap(server.full_addrs()[0])], 5)
            with trio.fail_after(10):
                assert await exchange(other, server, b"still serving") == b"still serving"


async def test_a_connection_runs_only_its_read_loop_and_one_sweeper_serves_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """adapters/libp2p/upstream/yamux_tasks.py: upstream's start runs an RTT loop, a
    sweeper and the read loop as child tasks of a nursery per connection (pinned here);
    ours runs the read loop in start's own task, and one task sweeps every connection's
    closed streams."""
    import inspect

    from adapters.libp2p.upstream import yamux_tasks

    upstream_start = inspect.getsource(yamux.Yamux.start)
    assert "_measure_rtt_loop" in upstream_start and "_stale_stream_sweeper" in upstream_start
    assert "open_nursery" in upstream_start and "_handle_incoming_with_ready_signal" in (
        upstream_start)
    monkeypatch.setattr(yamux_tasks, "_STALE_STREAM_SWEEP_INTERVAL", 0.05)
    async with two_nodes() as (server, client):
        assert await exchange(client, server, b"x") == b"x"
        muxers = [conn.muxed_conn for node in (server, client)
                  for conns in node.host.get_network().get_connections_map().values()
                  for conn in conns]
        assert muxers and all(isinstance(m, BatchedWindowYamux) for m in muxers)
        loops = [names for names in map(awaiting, all_tasks()) if "handle_incoming" in names]
        assert len(loops) == len(muxers)  # one read loop per connection: in start's task,
        # or an inbound one in its listener's (inbound_connection_task.py)
        assert all("start_without_extra_tasks" in names or "read_until_closed" in names
                   for names in loops), loops
        assert all(muxer._nursery is None for muxer in muxers)
        muxer = muxers[0]
        stale = yamux.YamuxStream(99999, muxer, is_initiator=False)
        stale.closed = True  # fully closed, left behind: the sweeper's case
        async with muxer.streams_lock:
            muxer.streams[99999] = stale
        with trio.fail_after(5):
            while 99999 in muxer.streams:
                await trio.sleep(0.02)
