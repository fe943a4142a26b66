"""Listener side of multistream-select that answers a pipelined request in one write.

py-libp2p's ``Multiselect`` writes its header and its protocol echo as two writes,
each a Yamux frame, before the handler's answer and FIN go out as two more. When
the dialer sent its request together with its proposal (our clients do, see
pipelined_request; go-libp2p's and js-libp2p's lazy negotiation may) and has
half-closed already, it waits for nothing but the answer, so the echoes are owed
rather than sent: they go out in front of the handler's first write, in the same
frame. A dialer that has not half-closed may be waiting for the echoes before it
does (ours does towards peers it does not know), so it gets them at once.

A dialer that negotiates in lock-step waits for each answer before it sends the
next message; whenever nothing more is buffered from it, what is owed is sent at
once, so lock-step dialers see py-libp2p's exact exchange. The bytes on the wire
are the same either way; only the number of writes differs.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, cast

import trio
from libp2p.abc import IMultiselectCommunicator, INetStream
from libp2p.custom_types import StreamHandlerFn, TProtocol
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.protocol_muxer.exceptions import MultiselectError
from libp2p.protocol_muxer.multiselect import DEFAULT_NEGOTIATE_TIMEOUT, Multiselect
from libp2p.utils.varint import encode_delim

from adapters.libp2p.multistream_messages import (
    MULTISTREAM_HEADER,
    NOT_SUPPORTED,
    STREAM_LIMIT_REFUSAL,
    next_message,
)
from adapters.libp2p.upstream.final_write import write_final
from adapters.libp2p.upstream.stream_slots import StreamSlots, stream_slots_of

log = logging.getLogger(__name__)

_MAX_MESSAGE = 1024  # go-multistream's limit for a protocol id line is lower still
_READ_SIZE = 4096


class PipelinedMultiselect(Multiselect):
    stream_slots: StreamSlots | None = None  # per-connection stream limit, if any

    async def negotiate(
        self,
        communicator: IMultiselectCommunicator,
        negotiate_timeout: int = DEFAULT_NEGOTIATE_TIMEOUT,
    ) -> tuple[TProtocol | None, StreamHandlerFn | None]:
        stream = cast(INetStream, communicator.read_writer)  # type: ignore[attr-defined]
        reader = _MessageReader(stream)
        owed = bytearray()
        try:
            with trio.fail_after(negotiate_timeout):
                header = await reader.message()
                owed += encode_delim(MULTISTREAM_HEADER)
                if header != MULTISTREAM_HEADER:
                    raise MultiselectError(f"multistream header mismatch: {header[:64]!r}")
                while True:
                    if owed and not reader.has_message():
                        await stream.write(_take(owed))  # a lock-step dialer waits for it
                    command = await reader.message()
                    if command == b"ls":
                        listed = [p for p in self.handlers if p is not None]
                        owed += encode_delim(("\n".join(listed) + "\n").encode())
                        continue
                    protocol = TProtocol(command.decode()) if command else None
                    if protocol not in self.handlers:
                        owed += encode_delim(NOT_SUPPORTED)
                        continue
                    handler = self.handlers[protocol]
                    if handler is not None and self.stream_slots is not None:
                        handler = _holding_a_slot(handler, self.stream_slots, stream, owed)
                    owed += encode_delim(command)
                    if handler is not None and _peer_done(stream):
                        return protocol, _owing(handler, reader.take(), _take(owed))
                    # The dialer may wait for the echoes before it half-closes.
                    await stream.write(_take(owed))
                    if handler is not None and reader.buffered:
                        return protocol, _owing(handler, reader.take(), b"")
                    return protocol, handler
        except trio.TooSlowError:
            raise MultiselectError("handshake read timeout") from None
        except Exception as error:  # a bad stream must cost only itself (the host resets it)
            # What is owed goes out first: a pipelining dialer whose request we could not
            # parse as a proposal after an "na" must still see the "na".
            await _pay_quietly(stream, owed)
            if isinstance(error, MultiselectError):
                raise
            raise MultiselectError(f"negotiation failed: {error}") from error


def _holding_a_slot(
    handler: StreamHandlerFn, slots: StreamSlots, stream: INetStream, owed: bytearray
) -> StreamHandlerFn:
    """``handler``, holding one of its connection's stream slots while it runs."""
    conn = getattr(stream, "muxed_conn", None)
    if conn is None:
        return handler
    if not slots.take(conn):
        owed += encode_delim(STREAM_LIMIT_REFUSAL)  # where the protocol's echo belongs
        raise MultiselectError("stream limit of its connection reached")

    async def handle(stream: INetStream) -> None:
        try:
            await handler(stream)
        except Exception as exc:
            # py-libp2p lets a handler's exception end the connection's task group and,
            # with it, the Swarm service: the whole daemon stopped on one failed
            # identify (PeerStoreError). A failed handler ends its own stream only.
            log.warning("the %s handler failed: %r; its stream is reset",
                        getattr(stream, "get_protocol", lambda: "?")(), exc)
            with contextlib.suppress(Exception):
                await stream.reset()
        finally:
            slots.give_back(conn)

    return handle


def _take(owed: bytearray) -> bytes:
    data = bytes(owed)
    owed.clear()
    return data


async def _pay_quietly(stream: INetStream, owed: bytearray) -> None:
    if owed:
        with contextlib.suppress(Exception):
            await stream.write(_take(owed))


def _peer_done(stream: INetStream) -> bool:
    """The dialer half-closed already, so it waits for nothing but the answer."""
    muxed = getattr(stream, "muxed_stream", None)  # NetStream has it; INetStream does not say
    return bool(getattr(muxed, "recv_closed", False))


def _owing(handler: StreamHandlerFn, received: bytes, owed: bytes) -> StreamHandlerFn:
    async def handle(stream: INetStream) -> None:
        await handler(cast(INetStream, OwingStream(stream, received, owed)))

    return handle


class _MessageReader:
    """Reads varint-delimited multistream messages, keeping what follows them."""

    def __init__(self, stream: INetStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    @property
    def buffered(self) -> bool:
        return bool(self._buffer)

    def take(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return data

    def has_message(self) -> bool:
        return self._parse() is not None

    async def message(self) -> bytes:
        while (parsed := self._parse()) is None:
            try:
                chunk = await self._stream.read(_READ_SIZE)
            except StreamEOF:
                chunk = b""
            if not chunk:
                raise MultiselectError("stream ended during multistream-select")
            self._buffer += chunk
        start, end = parsed
        message = bytes(self._buffer[start:end])
        del self._buffer[:end]
        if not message.endswith(b"\n"):
            raise MultiselectError(f"multistream message without newline: {message[:64]!r}")
        return message[:-1]

    def _parse(self) -> tuple[int, int] | None:
        try:
            span = next_message(self._buffer)
        except ValueError as error:
            raise MultiselectError(str(error)) from None
        if span is not None and not 0 < span[1] - span[0] <= _MAX_MESSAGE:
            raise MultiselectError(f"multistream message of {span[1] - span[0]} bytes")
        if span is None and len(self._buffer) > _MAX_MESSAGE + 2:
            raise MultiselectError("multistream message over the size limit")
        return span


class OwingStream:
    """The negotiated stream, with the bytes read past the proposal given back first
    and the owed echoes sent in front of the first write (or before a close or reset)."""

    def __init__(self, inner: INetStream, received: bytes, owed: bytes) -> None:
        self._inner = inner
        self._received = received
        self._owed = owed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def read(self, n: int | None = None) -> bytes:
        if self._received:
            size = len(self._received) if n is None else n
            chunk, self._received = self._received[:size], self._received[size:]
            return chunk
        return await self._inner.read(n)

    async def write(self, data: bytes) -> None:
        await self._inner.write(self._take_owed() + data)

    async def write_final(self, data: bytes) -> None:
        await write_final(self._inner, self._take_owed() + data)

    async def close_write(self) -> None:
        await self._pay()
        await self._inner.close_write()  # type: ignore[attr-defined]  # NetStream has it

    async def close(self) -> None:
        await self._pay()
        await self._inner.close()

    async def reset(self) -> None:
        # The echoes first: to the dialer a reset after them is a refusal, not a failure.
        try:
            await self._pay()
        finally:
            await self._inner.reset()

    async def _pay(self) -> None:
        if self._owed:
            await self._inner.write(self._take_owed())

    def _take_owed(self) -> bytes:
        owed, self._owed = self._owed, b""
        return owed


def use_pipelined_multiselect(host: Any) -> None:
    """Make ``host`` negotiate inbound streams with PipelinedMultiselect, same handlers."""
    ours = PipelinedMultiselect()
    ours.handlers = host.multiselect.handlers
    ours.stream_slots = stream_slots_of(host)
    host.multiselect = ours
