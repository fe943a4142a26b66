"""libp2p "Private Networks with PSK v1" for TCP: a connection protector and a transport.

Each side first sends a random 24-byte nonce; afterwards every byte it sends is XORed
with the XSalsa20 key stream of (psk, its nonce). py-libp2p's own ``libp2p.security.pnet``
is not this protocol (8-byte nonce, plain Salsa20), so do not pass ``psk=`` to ``new_host``
together with this transport.

A wrong key normally shows up only as garbage that stalls the upgrade until its
timeout. Every libp2p connection starts with multistream-select, so we check the
peer's first decrypted bytes against its header and fail at once instead.
"""

from __future__ import annotations

import contextlib
import logging
import os

import trio
from libp2p.abc import IListener, IRawConnection, ITransport
from libp2p.connection_types import ConnectionType
from libp2p.custom_types import THandler
from libp2p.io.abc import ReadWriteCloser
from libp2p.io.exceptions import ConnectionClosedError, IncompleteReadError
from libp2p.network.config import RetryConfig
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.transport.exceptions import OpenConnectionError, SecurityUpgradeFailure
from libp2p.transport.tcp.tcp import TCP
from multiaddr import Multiaddr

from adapters.libp2p.direct_receive import receive
from adapters.libp2p.error_chain import causes
from adapters.libp2p.immediate_send import send_now, socket_under
from adapters.libp2p.multistream_messages import HEADER_MESSAGE
from adapters.libp2p.set_events import set_for_good
from adapters.libp2p.uncontended_lock import UncontendedLock
from adapters.libp2p.xsalsa20 import NONCE_SIZE, KeyStream, XSalsa20
from domain.psk import check_psk

log = logging.getLogger(__name__)

# Read in large chunks: multistream-select reads one byte at a time, and a buffer
# leaves little unread in the kernel when we close (unread data turns FIN into RST).
_READ_CHUNK = 65536


class PrivateNetworkMismatch(SecurityUpgradeFailure):
    """The peer is not in our private network (another PSK, or none at all).

    A SecurityUpgradeFailure, so py-libp2p's swarm puts our message into its own
    "failed to upgrade security" error and an inbound connection is simply dropped.
    """


class PskConnection(RawConnection):
    """A raw connection whose bytes are XSalsa20-protected with a pre-shared key.

    ``inner`` is what the TCP transport produces: a RawConnection when dialing, or the
    listener's TrioTCPStream when accepting. A dialer calls ``send_nonce()`` right after
    wrapping (the first ``write`` does it otherwise). An accepted connection holds its
    first write until the dialer's nonce is in: a dialer always speaks first, and a peer
    with no PSK then always shows its clear-text header (js-libp2p, reading our nonce as
    multistream, used to fail and close before its header got out, which named nothing).
    With ``expect_multistream`` the first decrypted bytes must be the multistream-select
    header, else PrivateNetworkMismatch.
    """

    def __init__(
        self,
        inner: ReadWriteCloser,
        psk: bytes,
        initiator: bool,
        *,
        expect_multistream: bool = True,
    ) -> None:
        conn_type = (
            inner.get_connection_type()
            if isinstance(inner, IRawConnection)
            else ConnectionType.DIRECT
        )
        super().__init__(inner, initiator, conn_type)
        self._psk = check_psk(psk)
        self._expect = HEADER_MESSAGE if expect_multistream else b""
        self._checked = 0
        self._encrypt: KeyStream | None = None
        self._decrypt: KeyStream | None = None
        self._pending = b""  # raw bytes received while the peer's nonce is incomplete
        self._early = b""  # raw bytes after the nonce, read by a write that awaited it
        self._peer_nonce_settled = trio.Event()  # its nonce is in, or it never will be
        self._buf = b""  # decrypted bytes not yet returned, from self._pos on
        self._pos = 0
        self._failure: PrivateNetworkMismatch | None = None
        self._write_broken = False
        # The key stream must follow the wire order, so cipher + I/O happen under a lock.
        self._read_lock = UncontendedLock()
        self._write_lock = UncontendedLock()
        self._socket = socket_under(inner)

    @property
    def failure(self) -> PrivateNetworkMismatch | None:
        """Why this connection was ended as a different private network, if it was."""
        return self._failure

    async def send_nonce(self) -> None:
        """Send our nonce now (idempotent)."""
        async with self._write_lock:
            await self._write_locked(b"")

    async def write(self, data: bytes) -> None:
        async with self._write_lock:
            await self._write_locked(data)

    async def _write_locked(self, data: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        if self._write_broken:
            raise ConnectionClosedError("an earlier write was interrupted", transport="tcp+psk")
        if self._encrypt is None:
            if not self.is_initiator:
                await self._await_peer_nonce()
            nonce = os.urandom(NONCE_SIZE)
            self._encrypt = XSalsa20(self._psk, nonce)
            out = nonce + self._encrypt.xor(data)
        else:
            out = self._encrypt.xor(data)
        if not out:
            return
        try:
            if self._socket is not None:  # the kernel takes it now, usually (immediate_send.py)
                sent = send_now(self._socket, out)
                if sent == len(out):
                    return
                out = out[sent:]
            await super().write(out)
        except BaseException as exc:
            # The key stream has moved past bytes that may not have gone out (a cancelled
            # write, say): anything sent later would be garbage to the peer, so end here.
            self._write_broken = True
            if (isinstance(exc, Exception) and self._decrypt is None
                    and self._failure is None and self._expect):
                # The peer went (a reset on our write) before its nonce reached us: the
                # listener then logs why, as when its close is read (see _receive).
                self._failure = PrivateNetworkMismatch(
                    "the peer is not in any private network (no PSK)" if self._pending
                    else "the peer closed the connection before sending a PSK nonce"
                )
            with trio.CancelScope(shield=True):
                await _close_quietly(self)
            raise

    async def read(self, n: int | None = None) -> bytes:
        if n == 0:
            return b""
        async with self._read_lock:
            if self._failure is not None:
                raise self._failure
            while self._pos >= len(self._buf):
                ciphertext = await self._receive()
                if not ciphertext:
                    return b""
                self._buf, self._pos = await self._decrypt_checked(ciphertext), 0
            end = len(self._buf) if n is None else self._pos + n
            data = self._buf[self._pos : end]
            self._pos += len(data)
            return data

    def buffered_message(self, size_len: int) -> bytes | None:
        """The next length-prefixed message (its length in ``size_len`` big-endian bytes,
        as Noise frames its messages) if it is whole among the decrypted bytes waiting;
        else None, and nothing is taken."""
        start = self._pos + size_len
        if start > len(self._buf) or self._failure is not None:
            return None
        end = start + int.from_bytes(self._buf[self._pos : start], "big")
        if end > len(self._buf):
            return None
        self._pos = end
        return self._buf[start:end]

    async def read_message(self, size_len: int) -> bytes:
        """The next length-prefixed message (as :meth:`buffered_message`), receiving until
        it is whole: one await where reading it through py-libp2p's message reader takes
        six nested ones, each a coroutine frame a waiting connection keeps. At the end of
        the stream: IncompleteReadError, as that reader raises (``received_bytes`` 0 at a
        message boundary, a clean close)."""
        async with self._read_lock:
            message = self.buffered_message(size_len)
            if message is not None:
                return message
            # Pieces joined once the message is whole: over a slow link a 64 KiB message
            # comes in ~45 segments, and joining at each would copy it ~20 times.
            pieces = [self._buf[self._pos:]]
            have, need = len(pieces[0]), 0
            while not need or have < need:
                if not need and have >= size_len:
                    head = b"".join(pieces)
                    pieces, need = [head], size_len + int.from_bytes(head[:size_len], "big")
                    continue
                if self._failure is not None:
                    raise self._failure
                ciphertext = await self._receive()
                if not ciphertext:
                    raise _incomplete(b"".join(pieces), size_len)
                pieces.append(await self._decrypt_checked(ciphertext))
                have += len(pieces[-1])
            self._buf, self._pos = b"".join(pieces), 0
            message = self.buffered_message(size_len)
            assert message is not None  # whole now
            return message

    async def _await_peer_nonce(self) -> None:
        while not self._peer_nonce_settled.is_set():
            if self._read_lock.locked():
                # A reader is taking it in; look again now and then, in case it gives up.
                with trio.move_on_after(0.05):
                    await self._peer_nonce_settled.wait()
                continue
            async with self._read_lock:
                if not self._peer_nonce_settled.is_set():
                    self._early = await self._read_nonce()
        if self._failure is not None:
            raise self._failure

    async def _receive(self) -> bytes:
        """The next raw bytes after the peer's nonce, b"" at end of stream."""
        if self._early:
            early, self._early = self._early, b""
            return early
        if self._decrypt is None:
            rest = await self._read_nonce()
            if rest or self._decrypt is None:
                return rest
        if self._socket is not None:
            return await receive(self._socket, _READ_CHUNK)  # (direct_receive.py)
        return await super().read(_READ_CHUNK)

    async def _read_nonce(self) -> bytes:
        """Read until the peer's nonce is whole; return what came after it (b"" at EOF)."""
        while self._decrypt is None:
            chunk = await super().read(_READ_CHUNK)
            if not chunk:
                self._peer_nonce_settled = set_for_good(self._peer_nonce_settled)
                if self._expect and self._expect.startswith(bytes(self._pending)):
                    # A peer that gave up may close before all or any of its header got
                    # out (a dialer with no PSK, on reading a nonce as its multistream).
                    await self._fail(
                        "the peer is not in any private network (no PSK)" if self._pending
                        else "the peer closed the connection before sending a PSK nonce"
                    )
                return b""
            self._pending += chunk
            if self._expect and self._pending.startswith(self._expect):
                # Clear-text multistream where a nonce belongs (a 2^-160 accident otherwise).
                await self._fail("the peer is not in any private network (no PSK)")
            if len(self._pending) >= NONCE_SIZE:
                nonce, rest = self._pending[:NONCE_SIZE], self._pending[NONCE_SIZE:]
                self._pending = b""
                self._decrypt = XSalsa20(self._psk, nonce)
                self._peer_nonce_settled = set_for_good(self._peer_nonce_settled)
                return rest
        return b""

    async def _decrypt_checked(self, ciphertext: bytes) -> bytes:
        assert self._decrypt is not None
        plain = self._decrypt.xor(ciphertext)
        if self._checked < len(self._expect):
            want = self._expect[self._checked : self._checked + len(plain)]
            if plain[: len(want)] != want:
                await self._fail("the peer is not in our private network: different passphrase/PSK")
            self._checked += len(want)
        return plain

    async def _fail(self, reason: str) -> None:
        remote = self.get_remote_address()
        where = f" (peer {remote[0]}:{remote[1]})" if remote else ""
        self._failure = PrivateNetworkMismatch(reason + where)
        self._peer_nonce_settled = set_for_good(self._peer_nonce_settled)
        await _close_quietly(self)  # the error we raise matters, not how the socket went down
        raise self._failure

    def get_transport_addresses(self) -> list[Multiaddr]:
        if isinstance(self.stream, IRawConnection):
            return self.stream.get_transport_addresses()
        return super().get_transport_addresses()


class PskTcpTransport(ITransport):
    """py-libp2p's TCP transport with every raw connection, dialed or accepted, protected.

    Usage: ``new_host(key_pair=..., transports=[PskTcpTransport(psk)])`` (no ``psk=``).
    """

    def __init__(self, psk: bytes, tcp: TCP | None = None, *, expect_multistream: bool = True):
        self._psk = check_psk(psk)
        self._tcp = tcp if tcp is not None else TCP()
        self._expect_multistream = expect_multistream

    def _wrap(self, inner: ReadWriteCloser, initiator: bool) -> PskConnection:
        return PskConnection(
            inner, self._psk, initiator, expect_multistream=self._expect_multistream
        )

    async def _protect_outbound(self, raw: IRawConnection, maddr: Multiaddr) -> PskConnection:
        conn = self._wrap(raw, initiator=True)
        try:
            await conn.send_nonce()
        except BaseException as exc:
            with trio.CancelScope(shield=True):
                await _close_quietly(conn)
            if isinstance(exc, Exception):
                raise OpenConnectionError(f"failed to send the PSK nonce to {maddr}") from exc
            raise
        return conn

    async def dial(self, maddr: Multiaddr) -> IRawConnection:
        return await self._protect_outbound(await self._tcp.dial(maddr), maddr)

    async def dial_with_source(self, maddr: Multiaddr, source: tuple[str, int]) -> IRawConnection:
        # Keeps hole punching (the swarm looks this method up by name) protected too.
        raw = await self._tcp.dial_with_source(maddr, source)
        return await self._protect_outbound(raw, maddr)

    def create_listener(self, handler_function: THandler) -> IListener:
        async def protected(stream: ReadWriteCloser) -> None:
            # Its nonce goes with its first write, once the dialer's is in (see PskConnection).
            conn = self._wrap(stream, initiator=False)
            try:
                await handler_function(conn)
            finally:
                # py-libp2p drops a failed inbound upgrade silently (debug log at most):
                # tell the operator why a peer could not connect, in one line.
                if conn.failure is not None:
                    log.info("refused an inbound connection: %s", conn.failure)

        return self._tcp.create_listener(protected)

    def can_dial(self, maddr: Multiaddr) -> bool:
        return self._tcp.can_dial(maddr)

    def can_listen(self, maddr: Multiaddr) -> bool:
        return self._tcp.can_listen(maddr)

    def protocols(self) -> list[str]:
        return self._tcp.protocols()


def _incomplete(waiting: bytes, size_len: int) -> IncompleteReadError:
    if len(waiting) < size_len:
        expected, received = size_len, len(waiting)
    else:
        expected, received = int.from_bytes(waiting[:size_len], "big"), len(waiting) - size_len
    return IncompleteReadError(
        f"Connection closed during read operation: expected {expected} bytes but "
        f"received {received} bytes", expected_bytes=expected, received_bytes=received,
    )


async def _close_quietly(conn: ReadWriteCloser) -> None:
    with contextlib.suppress(Exception):
        await conn.close()


def fast_fail_retry_config() -> RetryConfig:
    """Dial retries for a private network: a PSK mismatch is final, so retry once, briefly.

    py-libp2p's default (3 retries, 0.1 s doubling) adds ~0.7 s to every failed dial.
    Apply with ``host.get_network().retry_config = fast_fail_retry_config()``.
    """
    return RetryConfig(max_retries=1, initial_delay=0.05, max_delay=1.0)


def find_private_network_mismatch(exc: BaseException) -> PrivateNetworkMismatch | None:
    """Find our error in the chain py-libp2p wraps around it (swarm errors, MultiError)."""
    for err in causes(exc):
        if isinstance(err, PrivateNetworkMismatch):
            return err
    return None
