"""The HTTP stack's floor: a bare ASGI app answering a constant, on the same server
(adapters/http/server.py: Hypercorn's trio worker with our bounds) as the daemon's API.

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

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def main(port: int, body: bytes) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_http, constant_app(body), "127.0.0.1", port, HttpLimits())
        print("ready", flush=True)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]), Path(sys.argv[2]).read_bytes())
