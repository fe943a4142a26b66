"""Our seam with Hypercorn (adapters/http/server.py, adapters/http/connection.py): fails if
upstream changes what it uses, and shows the bounds it adds: open connections, a client
that stops reading, the header timeout (and no timeout on a quiet long answer), and a
bounded queue of ASGI messages."""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest
import trio

from adapters.http.connection import MAX_WAITING, _Inbox
from adapters.http.server import HttpLimits, serve_http


def test_hypercorn_still_has_the_parts_the_seam_runs():
    import hypercorn.protocol
    from hypercorn.app_wrappers import ASGIWrapper
    from hypercorn.config import Config
    from hypercorn.events import Closed, RawData, Updated
    from hypercorn.protocol import ProtocolWrapper
    from hypercorn.trio.task_group import _handle
    from hypercorn.trio.tcp_server import TCPServer
    from hypercorn.trio.worker_context import WorkerContext
    from hypercorn.typing import TaskGroup
    from hypercorn.utils import parse_socket_addr

    assert list(inspect.signature(ProtocolWrapper.__init__).parameters) == [
        "self", "app", "config", "context", "task_group", "state", "ssl", "client", "server",
        "send", "alpn_protocol"]
    assert list(inspect.signature(_handle).parameters) == [
        "app", "config", "scope", "receive", "send", "sync_spawn", "call_soon"]
    assert list(inspect.signature(WorkerContext.__init__).parameters) == ["self", "max_requests"]
    assert list(inspect.signature(parse_socket_addr).parameters) == ["family", "address"]
    # as_hypercorn_app stands for ASGIWrapper: the same call, the same three arguments on.
    assert list(inspect.signature(ASGIWrapper.__call__).parameters) == [
        "self", "scope", "receive", "send", "sync_spawn", "call_soon"]
    assert "await self.app(scope, receive, send)" in inspect.getsource(ASGIWrapper.__call__)
    assert RawData(b"x").data == b"x" and Updated(idle=True).idle and Closed()
    # Connection stands for TCPServer and its TaskGroup: the protocol asks a task group
    # for no more than spawn_app and spawn, and sends TCPServer no other event.
    members = {n for n, v in vars(TaskGroup).items()
               if inspect.isfunction(v) and n not in ("__init__", "__subclasshook__")}
    assert members == {"spawn_app", "spawn", "__aenter__", "__aexit__"}
    protocol_dir = pathlib.Path(hypercorn.protocol.__file__).parent
    used = {m for f in protocol_dir.glob("*.py")
            for m in re.findall(r"task_group\.(\w+)", f.read_text())}
    assert used == {"spawn_app", "spawn"}
    handled = set(re.findall(r"isinstance\(event, (\w+)\)",
                             inspect.getsource(TCPServer.protocol_send)))
    assert handled == {"RawData", "Closed", "Updated"}
    config = Config()
    for name in ("keep_alive_timeout", "h11_max_incomplete_size", "ssl_handshake_timeout"):
        assert hasattr(config, name)
    assert config.max_app_queue_size == MAX_WAITING  # the inbox bounds as Hypercorn does


async def _constant(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b"x" * int(scope["query_string"] or b"2")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _get(port: int, query: str = "2") -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(f"GET /?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          .encode())
    answer = b""
    while chunk := await stream.receive_some():
        answer += chunk
    await stream.aclose()
    return answer


async def test_connections_beyond_the_limit_wait_until_one_closes():
    # (Hypercorn notices a client's close of an idle connection only at the header
    # timeout, so a short one keeps this test short.)
    limits = HttpLimits(max_connections=2, header_timeout=1)
    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_http, _constant, "127.0.0.1", 0, limits)
        held = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(2)]
        with trio.move_on_after(0.5) as waited:
            await _get(port)
        assert waited.cancelled_caught  # the third is not served while two are open
        await held[0].aclose()
        with trio.fail_after(5):
            assert (await _get(port)).startswith(b"HTTP/1.1 200")
        await held[1].aclose()
        nursery.cancel_scope.cancel()


async def test_a_client_that_stops_reading_loses_its_connection_and_slot():
    limits = HttpLimits(max_connections=1, send_timeout=0.5, header_timeout=30)
    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_http, _constant, "127.0.0.1", 0, limits)
        stuck = await trio.open_tcp_stream("127.0.0.1", port)
        # 64 MiB: far more than the socket buffers hold; this client never reads.
        await stuck.send_all(b"GET /?67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(10):
            assert (await _get(port)).startswith(b"HTTP/1.1 200")  # the slot came back
        await stuck.aclose()
        nursery.cancel_scope.cancel()


async def _echo_body(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read_until(stream: trio.SocketStream, end: bytes) -> bytes:
    seen = b""
    while not seen.endswith(end):
        seen += await stream.receive_some(65536)
    return seen


async def test_keep_alive_pipelining_and_100_continue_still_work():
    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_http, _echo_body, "127.0.0.1", 0, HttpLimits())
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        with trio.fail_after(5):
            await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
                                  b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo")
            answers = await _read_until(stream, b"two")
            assert answers.count(b"HTTP/1.1 200") == 2 and answers.index(b"one") > 0
            await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                  b"Expect: 100-continue\r\n\r\n")
            assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 100")
            await stream.send_all(b"three")
            assert (await _read_until(stream, b"three")).startswith(b"HTTP/1.1 200")
        await stream.aclose()
        nursery.cancel_scope.cancel()


async def _silent_long_answer(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    with trio.move_on_after(2.5):
        while (await receive())["type"] != "http.disconnect":
            pass
    await send({"type": "http.response.body", "body": b"done"})


async def test_a_quiet_long_answer_outlives_the_header_timeout_which_still_ends_idleness():
    # An SSE listener or a parked blocking query sends nothing while its answer runs.
    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_http, _silent_long_answer, "127.0.0.1", 0,
                                      HttpLimits(header_timeout=1))
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        started = trio.current_time()
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        seen = b""
        with trio.fail_after(10):
            while not seen.endswith(b"done\r\n0\r\n\r\n"):
                seen += await stream.receive_some(65536)
            assert trio.current_time() - started > 2.4
            assert await stream.receive_some(65536) == b""  # then idle: closed at 1 s
        assert trio.current_time() - started < 5
        await stream.aclose()
        nursery.cancel_scope.cancel()


async def test_the_inbox_holds_at_most_max_waiting_messages_and_loses_none_to_a_cancel():
    inbox = _Inbox()
    for i in range(MAX_WAITING):
        await inbox.put({"n": i})
    with trio.move_on_after(0.1) as full:
        await inbox.put({"n": MAX_WAITING})
    assert full.cancelled_caught  # the protocol waits for the app
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbox.put, {"n": MAX_WAITING})
        await trio.sleep(0.05)
        assert [(await inbox.receive())["n"] for _ in range(MAX_WAITING + 1)] == list(
            range(MAX_WAITING + 1))
    with trio.move_on_after(0.05):
        await inbox.receive()  # cancelled while empty
    await inbox.put({"n": "after"})
    assert await inbox.receive() == {"n": "after"}


async def test_two_receivers_at_once_are_refused():
    inbox = _Inbox()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbox.receive)
        await trio.sleep(0.01)
        with pytest.raises(trio.BusyResourceError):
            await inbox.receive()
        nursery.cancel_scope.cancel()


async def test_http2_with_prior_knowledge_is_served_too():
    # HTTP/2 runs its own send task through the seam's spawn (Connection stands for
    # Hypercorn's task group), besides each stream's app.
    import httpx

    async with trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_http, _echo_body, "127.0.0.1", 0, HttpLimits())
        async with httpx.AsyncClient(http1=False, http2=True,
                                     base_url=f"http://127.0.0.1:{port}") as client:
            with trio.fail_after(5):
                answers = [await client.post("/", content=f"body {i}") for i in range(3)]
        assert [(a.http_version, a.text) for a in answers] == [
            ("HTTP/2", f"body {i}") for i in range(3)]
        nursery.cancel_scope.cancel()
