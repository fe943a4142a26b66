"""registry-cli watch: one line per registry change, flushed as it comes (works in a pipe)."""

from __future__ import annotations

from typing import Annotated

import msgspec
import trio
from cyclopts import Parameter

from domain.watch_wire import EventType, WatchEvent
from entrypoints import library

# Filled in by registry-cli's global options (--bootstrap, --psk, --json), not parsed here.
_Injected = Parameter(parse=False)

_encoder = msgspec.json.Encoder()


def human_event(event: WatchEvent) -> str | None:
    """One line for people; None for what only scripts care about (plain PROGRESS)."""
    kind = event.type
    if kind is EventType.PUT:
        return f"PUT     {event.name}  revision {event.revision}  {event.info_str}"
    if kind is EventType.DELETE:
        return f"DELETE  {event.name}  revision {event.revision}"
    if kind is EventType.SYNCED:
        return f"SYNCED  the records above are the registry at revision {event.revision}"
    if kind is EventType.RESET:
        return (f"RESET   the history asked for is compacted; the registry as of revision "
                f"{event.revision} follows")
    if event.cut_off:
        return (f"CUT OFF the registry-service lost its etcd quorum after revision "
                f"{event.revision}; changes will follow when it is back")
    if event.cut_off is False:
        return (f"RESUMED the registry-service has its quorum again at revision "
                f"{event.revision}; the changes made meanwhile come in order, once")
    return None


def watch_command(
    *names: str,
    prefix: str | None = None,
    since: int | None = None,
    json_output: Annotated[bool, _Injected] = False,
    bootstraps: Annotated[list[str], _Injected],
    psk: Annotated[bytes | None, _Injected],
    keyfile: Annotated[str | None, _Injected] = None,
) -> int:
    """Follow the registry as it changes: the current records, then every change. Ctrl-C stops.

    With --json the events are printed exactly as on the wire (one JSON object a line).

    Parameters
    ----------
    names
        Service names to watch (default: every service).
    prefix
        Watch only names that start with this.
    since
        Start after this revision: exactly the changes made since, without the current state.
    """

    async def follow() -> None:
        watch = library.watch_services(bootstraps, psk, list(names), prefix, since,
                                       keyfile=keyfile)
        async with watch as events:
            async for event in events:
                line = _encoder.encode(event).decode() if json_output else human_event(event)
                if line is not None:
                    print(line, flush=True)

    trio.run(follow)
    return 0
