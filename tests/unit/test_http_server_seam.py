"""Our seam with Hypercorn (adapters/http/server.py): fails if upstream changes what it uses,
and shows the bounds it adds: open connections, and a client that stops reading."""

from __future__ import annotations

import inspect

import trio

from adapters.http.server import HttpLimits, serve_http


def test_hypercorn_still_has_the_parts_the_seam_runs():
    from hypercorn.config import Config
    from hypercorn.trio.tcp_server import TCPServer
    from hypercorn.trio.worker_context import WorkerContext
    from hypercorn.utils import wrap_app

    assert list(inspect.signature(TCPServer.__init__).parameters) == [
        "self", "app", "config", "context", "state", "stream"]
    assert list(inspect.signature(WorkerContext.__init__).parameters) == ["self", "max_requests"]
    assert "mode" in inspect.signature(wrap_app).parameters
    config = Config()
    for name in ("keep_alive_timeout", "read_timeout", "h11_max_incomplete_size"):
        assert hasattr(config, name)
    # Hypercorn reads the peer address from stream.socket, and tells TLS by do_handshake.
    source = inspect.getsource(TCPServer.run)
    assert "self.stream.socket" in source and "do_handshake" in source


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
