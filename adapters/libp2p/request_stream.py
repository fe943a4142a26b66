"""One request per stream: read to EOF, answer, close; on any failure, reset."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

import trio
from libp2p.abc import INetStream

from adapters.libp2p.stream_io import read_to_end
from adapters.libp2p.upstream.final_write import write_final

log = logging.getLogger(__name__)

_ANY_NUMBER = contextlib.nullcontext()


async def answer_one_request(
    stream: INetStream,
    handle: Callable[[bytes, str], Awaitable[bytes]],
    *,
    label: str,
    timeout: float,
    max_request: int,
    turns: trio.Semaphore | None = None,
) -> None:
    """Resetting is how the Go original reports a failed request; never raises.

    With ``turns``, the request waits for one (within ``timeout``) and holds it until
    its answer is written: for answers too large to make many of at once."""
    peer = stream.muxed_conn.peer_id
    try:
        with trio.fail_after(timeout):
            async with turns if turns is not None else _ANY_NUMBER:
                request = await read_to_end(stream, max_request)
                # The peer id Noise authenticated: the write policy's only input.
                response = await handle(request, str(peer))
                await write_final(stream, response)
                del response  # a 100 000-record list is ~40 MB: not kept while closing
            await stream.close()
    except Exception as exc:  # one bad request must never take the daemon down
        reason = "timed out" if isinstance(exc, trio.TooSlowError) else repr(exc)
        log.warning("%s from %s failed: %s; resetting the stream", label, peer, reason)
        await reset_quietly(stream)


async def reset_quietly(stream: INetStream) -> None:
    try:
        await stream.reset()
    except Exception as exc:
        log.debug("reset failed: %r", exc)
