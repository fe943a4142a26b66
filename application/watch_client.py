"""Following a `/watch/0.1` stream, across the death of the instance it reached.

The caller sees every change once, in revision order: the state at the start
comes as PUTs followed by SYNCED (held back until SYNCED, so a stream cut in the
middle of it is simply started again), and after a lost stream the watch
resumes on another instance with SinceRevision = the last revision delivered.

An instance at its watch limit (an ERROR that begins "watch limit reached:") is not a
refusal of the request: the next instance is tried, and the watch is refused only when
the search comes back to an instance that refused it so.

PROGRESS with CutOff true/false (the instance lost / regained its etcd quorum)
reaches the caller once per change of that state, across reconnections; lines
of a Type this client does not know are skipped (newer servers may add some).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import msgspec

from application.ports import RequestRejected, Sleep
from application.watch import validate_watch_request
from application.watch_ports import WatchStream, WatchTransport
from domain.watch_wire import (
    WATCH_LIMIT_REACHED,
    EventType,
    WatchEvent,
    WatchRequest,
    cut_off_notice,
)
from domain.wire import MalformedMessage, encode

log = logging.getLogger(__name__)

# Fresh connections after a lost stream without one event delivered in between.
MAX_FRUITLESS_RECONNECTS = 5

_decoder = msgspec.json.Decoder(WatchEvent)


class WatchRefused(RuntimeError):
    """The registry-service refused the watch request itself (an ERROR before any event)."""


class WatchLost(RuntimeError):
    """The watch could not be resumed on any registry-service."""


class WatchPosition:
    """Where a followed watch is: the instance serving it, and the last revision delivered
    (what to give as SinceRevision to resume it later)."""

    __slots__ = ("provider", "revision")

    def __init__(self) -> None:
        self.provider: str | None = None
        self.revision = 0


async def follow_watch(
    transport: WatchTransport,
    request: WatchRequest,
    position: WatchPosition | None = None,
    *,
    sleep: Sleep | None = None,
    hold_state: bool = True,
) -> AsyncIterator[WatchEvent]:
    """Yield PUT, DELETE, SYNCED, RESET and PROGRESS events until the caller stops.

    ``sleep`` paces resumptions that an instance refuses (it refuses new watches
    while its feed is being rebuilt, e.g. just after a partition heals).
    ``hold_state`` False: the PUTs of a state come as they arrive, not held until
    SYNCED (less memory for a large state); a caller that sees a new stream open
    before SYNCED (its transport tells it) must drop the PUTs of the state so far.
    """
    validate_watch_request(request)
    position = position or WatchPosition()
    last = position.revision = request.since_revision
    held: list[WatchEvent] | None = None if last else []  # the state, until SYNCED
    dead: set[str] = set()
    at_limit: set[str] = set()  # instances that answered "watch limit reached"
    ever_delivered = False
    fruitless = 0
    first_stream = True
    cut_off = False  # as last told to the caller
    while True:
        asked = msgspec.structs.replace(request, since_revision=last)
        try:
            stream = await transport.open_watch(encode(asked), frozenset(dead))
        except RequestRejected:
            if first_stream:
                raise
            fruitless += 1
            if fruitless > MAX_FRUITLESS_RECONNECTS:
                raise WatchLost(
                    f"the watch was lost and could not be resumed from revision {last}"
                ) from None
            if sleep is not None:
                await sleep(min(0.25 * 2**fruitless, 2.0))
            continue
        position.provider = stream.provider
        delivered_any = limited = False
        try:
            async for event in _events(stream):
                if event.type is EventType.ERROR:
                    refusal = not delivered_any and not ever_delivered
                    if not delivered_any and (event.error or "").startswith(WATCH_LIMIT_REACHED):
                        if stream.provider in at_limit:  # the search came back to it
                            if refusal:
                                raise WatchRefused(f"the watch was refused: {event.error}")
                        else:
                            at_limit.add(stream.provider)
                            limited = True
                        dead.add(stream.provider)  # asked last from now on
                        log.info("%s is at its watch limit; trying another instance",
                                 stream.provider)
                        break
                    if refusal:
                        raise WatchRefused(f"the watch was refused: {event.error}")
                    log.info("watch ended by %s: %s; resuming", stream.provider, event.error)
                    break
                if cut_off and not delivered_any and event.cut_off is not True:
                    # a new stream from an instance that is not cut off: we are back
                    cut_off = False
                    yield cut_off_notice(last, False)
                delivered_any = True
                fruitless = 0
                if event.cut_off is not None:
                    if event.cut_off == cut_off:
                        continue  # told already (a held stream repeats it)
                    cut_off = event.cut_off
                if event.type is EventType.RESET:
                    held = []
                    yield event
                elif held is not None and event.type is EventType.PUT:
                    if hold_state:
                        held.append(event)
                    else:
                        yield event
                elif event.type is EventType.SYNCED:
                    for put in held or ():
                        yield put
                    held = None
                    last = position.revision = event.revision or last
                    yield event
                else:
                    last = position.revision = max(last, event.revision or 0)
                    yield event
            else:
                dead.add(stream.provider)
        except (OSError, ConnectionError) as exc:
            log.info("watch stream from %s lost: %r; resuming", stream.provider, exc)
            dead.add(stream.provider)
        finally:
            await stream.close()
        first_stream = False
        ever_delivered = ever_delivered or delivered_any
        if held:
            held = []  # the state is sent again in full
        if not delivered_any and not limited:  # a first limit refusal is no failure
            fruitless += 1
            if fruitless > MAX_FRUITLESS_RECONNECTS:
                raise WatchLost(
                    f"the watch was lost and could not be resumed from revision {last}"
                )


async def _events(stream: WatchStream) -> AsyncIterator[WatchEvent]:
    while (line := await stream.next_line()) is not None:
        if not line.strip():
            continue
        try:
            yield _decoder.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            if _unknown_type(line):
                log.debug("skipping a watch event of a type this client does not know: %r",
                          line[:200])
                continue
            raise MalformedMessage(f"malformed watch event: {exc}") from exc


def _unknown_type(line: bytes) -> bool:
    try:
        kind = msgspec.json.decode(line, type=dict).get("Type")
    except msgspec.DecodeError:
        return False
    return isinstance(kind, str) and kind not in EventType.__members__
