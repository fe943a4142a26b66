"""The HTTP stack's floor: a bare ASGI app on the same server (adapters/http/server.py:
Hypercorn's trio worker with our bounds) as the daemon's API.

- any path but the two below: answers a constant (the floor of a GET);
- ``GET /park``: waits on one shared trio Event, then answers the constant (a parked
  blocking query with nothing of ours: no subscription, no framework, no disconnect watch);
- ``GET /wake``: sets that Event (every parked request wakes) and answers at once.

Run: python benchmarks/bare_http_app.py PORT BODY_FILE   (prints "ready" once it listens)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.http.server import HttpLimits, serve_http


def constant_app(body: bytes) -> Any:
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    parked = [trio.Event()]

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/park":
            await parked[0].wait()
        elif scope["path"] == "/wake":
            parked[0].set()
            parked[0] = trio.Event()
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def main(port: int, body: bytes) -> None:
    limits = HttpLimits(max_connections=4096)  # as the daemon under bench_http.py
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_http, constant_app(body), "127.0.0.1", port, limits)
        print("ready", flush=True)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]), Path(sys.argv[2]).read_bytes())
