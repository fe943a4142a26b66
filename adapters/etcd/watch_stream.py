"""One etcd Watch call, its responses handed to trio as they come."""

from __future__ import annotations

import contextlib
import functools
import queue
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import trio
from etcd3 import etcdrpc

from adapters.etcd.connection import REQUIRE_LEADER, EtcdConnection


@asynccontextmanager
async def etcd_watch(
    connection: EtcdConnection, create: Any, *, buffer: int = 1024
) -> AsyncIterator[AsyncIterator[Any]]:
    """Yield the watch's WatchResponses; a failed watch raises grpc.RpcError from the loop.

    The iteration simply ends when etcd ends the stream. Leaving the block cancels it.
    """
    requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
    requests.put(etcdrpc.WatchRequest(create_request=create))
    responses = connection.watch.Watch(_until_none(requests), metadata=REQUIRE_LEADER)
    token = trio.lowlevel.current_trio_token()
    send: trio.MemorySendChannel[Any]
    send, inbox = trio.open_memory_channel[Any](buffer)

    def pump() -> None:
        # Blocking iterator on a worker thread; each response goes to trio.
        try:
            for response in responses:
                trio.from_thread.run(send.send, response, trio_token=token)
        except grpc.RpcError as exc:
            # After cancellation nobody listens any more: ignore what fails then.
            with contextlib.suppress(Exception):
                trio.from_thread.run(send.send, exc, trio_token=token)
        except Exception:
            pass
        finally:
            with contextlib.suppress(Exception):
                trio.from_thread.run_sync(send.close, trio_token=token)

    async def items() -> AsyncIterator[Any]:
        async for item in inbox:
            if isinstance(item, Exception):
                raise item
            yield item

    try:
        async with trio.open_nursery() as nursery:
            # (trio-typing's stale stubs don't know abandon_on_cancel yet)
            thread = functools.partial(
                trio.to_thread.run_sync, pump, abandon_on_cancel=True  # type: ignore[call-arg]
            )
            nursery.start_soon(thread)
            yield items()
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The caller's own exception, not the nursery's wrapping of it.
        raise _only(group) from None
    finally:
        inbox.close()
        requests.put(None)
        responses.cancel()


def _only(group: BaseExceptionGroup) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def _until_none(requests: queue.SimpleQueue[Any]) -> Iterator[Any]:
    # gRPC pulls the request stream on its own thread; None ends it.
    while (item := requests.get()) is not None:
        yield item
