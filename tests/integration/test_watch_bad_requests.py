"""Bad `/watch/0.1` requests over the wire to a real registry-service: each ends its own
stream with one `ERROR` line, and a watch on the same connection goes on."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import trio
from one_connection import OneConnection, one_connection, read_until_end, send
from registry_process import RegistryProcess
from watch_helpers import EVENT_WAIT, _info, _psk

from domain.watch_wire import MAX_WATCH_REQUEST_BYTES, WATCH_PROTOCOL
from entrypoints import library

REQUEST_TIMEOUT = 2.0  # --request-timeout: how long a watch request may take to arrive


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> RegistryProcess:  # type: ignore[misc]
    workdir = Path(tmp_path_factory.mktemp("watch-bad"))
    proc = RegistryProcess(workdir, extra_args=["--request-timeout", str(REQUEST_TIMEOUT)])
    proc.start()
    yield proc
    proc.stop()


class Events:
    """The event lines of one watch stream, PROGRESS skipped."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.stream, self._buffered, self._events = stream, b"", []  # type: ignore[var-annotated]

    async def next(self) -> dict:  # type: ignore[type-arg]
        with trio.fail_after(EVENT_WAIT):
            while not self._events:
                self._buffered += await self.stream.read()
                *lines, self._buffered = self._buffered.split(b"\n")
                self._events += [e for e in map(json.loads, lines) if e["Type"] != "PROGRESS"]
        return self._events.pop(0)

    async def synced(self) -> None:
        """A new watch's start: a PUT per record stored by earlier tests, then SYNCED."""
        while (event := await self.next())["Type"] != "SYNCED":
            assert event["Type"] == "PUT", event


async def _watch(conn: OneConnection) -> Events:
    events = Events(await send(await conn.stream(WATCH_PROTOCOL), b'{"Prefix":"bad-"}'))
    await events.synced()
    return events


_names = itertools.count()


async def _bad_request_on_a_live_connection(
    registry: RegistryProcess, send_bad, says: str  # type: ignore[no-untyped-def]
) -> float:
    """A good watch before, the bad one, a good watch after, all on one connection."""
    async with one_connection(registry) as conn:
        before = await _watch(conn)

        started = trio.current_time()
        bad = await send_bad(conn)
        reply, end = await read_until_end(bad, REQUEST_TIMEOUT + EVENT_WAIT)
        took = trio.current_time() - started
        [line] = reply.splitlines()  # exactly one line, then the end of the stream
        error = json.loads(line)
        assert set(error) == {"Type", "Error"} and error["Type"] == "ERROR", error
        assert says in error["Error"] and "\n" not in error["Error"], error
        assert end == "eof", "the ERROR line is followed by a clean close"

        after = await _watch(conn)
        name = f"bad-{next(_names)}"
        revision = await library.add_service(registry.addrs, _psk(registry), name, _info(1),
                                             if_revision=0)
        for watch in (before, after):  # both go on, with the change made after the bad one
            put = await watch.next()
            assert (put["Type"], put["Name"], put["Revision"]) == ("PUT", name, revision)
        conn.muxed_conn()  # still the one connection
    assert registry.alive()
    return took


@pytest.mark.parametrize("request_bytes", [b"not json", b'{"SinceRevision":"ten"}', b"[1,2]"])
def test_a_malformed_watch_request_ends_only_its_own_stream(
    registry: RegistryProcess, request_bytes: bytes
) -> None:
    async def malformed(conn: OneConnection):  # type: ignore[no-untyped-def]
        return await send(await conn.stream(WATCH_PROTOCOL), request_bytes)

    trio.run(_bad_request_on_a_live_connection, registry, malformed, "malformed WatchRequest")


def test_a_watch_request_with_a_bad_name_ends_only_its_own_stream(
    registry: RegistryProcess,
) -> None:
    async def bad_name(conn: OneConnection):  # type: ignore[no-untyped-def]
        return await send(await conn.stream(WATCH_PROTOCOL), b'{"Names":[" x"]}')

    trio.run(_bad_request_on_a_live_connection, registry, bad_name, "x")


def test_a_watch_request_over_64_kib_ends_only_its_own_stream(registry: RegistryProcess) -> None:
    assert MAX_WATCH_REQUEST_BYTES == 64 * 1024  # the figure docs/protocol.md states

    async def oversized(conn: OneConnection):  # type: ignore[no-untyped-def]
        names = json.dumps({"Names": ["n" * 100] * 700}).encode()  # about 72 KiB
        assert len(names) > MAX_WATCH_REQUEST_BYTES
        return await send(await conn.stream(WATCH_PROTOCOL), names)

    trio.run(_bad_request_on_a_live_connection, registry, oversized, str(64 * 1024))


def test_a_watch_request_of_exactly_64_kib_is_served(registry: RegistryProcess) -> None:
    async def main() -> None:
        padding = MAX_WATCH_REQUEST_BYTES - len(b'{"Prefix":"bad-","Pad":""}')
        request = b'{"Prefix":"bad-","Pad":"' + b"p" * padding + b'"}'
        assert len(request) == MAX_WATCH_REQUEST_BYTES
        async with one_connection(registry) as conn:
            await Events(await send(await conn.stream(WATCH_PROTOCOL), request)).synced()

    trio.run(main)


def test_a_watch_request_slower_than_the_request_timeout_ends_only_its_own_stream(
    registry: RegistryProcess,
) -> None:
    async def too_slow(conn: OneConnection):  # type: ignore[no-untyped-def]
        stream = await conn.stream(WATCH_PROTOCOL)
        await stream.write(b'{"Prefix":')  # ...and never the rest, nor the half-close
        return stream

    took = trio.run(_bad_request_on_a_live_connection, registry, too_slow, "")
    assert REQUEST_TIMEOUT - 0.2 <= took <= REQUEST_TIMEOUT + 5, took
