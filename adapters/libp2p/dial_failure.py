"""Why a peer could not be reached, in one line, also when py-libp2p no longer says.

py-libp2p wraps the real reason of a failed dial in layers (SwarmDialAllFailedError,
MultiError, SwarmException, OpenConnectionError, ExceptionGroup), and for 60 s after
a dial failed it refuses to dial that peer again with only "recently failed all
addresses (negative cache)". The reason is remembered here per peer, so that the
error a user finally reads names it: another private network, a refused connection.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import trio
from libp2p.io.exceptions import IOException
from libp2p.transport.exceptions import OpenConnectionError, SecurityUpgradeFailure

from adapters.libp2p.error_chain import causes
from adapters.libp2p.pnet import find_private_network_mismatch
from application.ports import RegistryUnavailable

NEGATIVE_CACHE_MARK = "(negative cache)"


class WrongPrivateNetwork(RegistryUnavailable):
    """The peers we could reach are in another private network (another PSK, or none)."""


def dial_failure_reason(exc: BaseException) -> str:
    """The most telling line in the layers around a failed dial."""
    mismatch = find_private_network_mismatch(exc)
    if mismatch is not None:
        return _line(mismatch)
    chain = list(causes(exc))
    # "all attempts to connect to HOST:PORT failed" (trio's OSError, no errno), and the
    # errno beneath it, if any, e.g. "Connection refused".
    for index, err in enumerate(chain):
        if isinstance(err, OSError) and err.errno is None and str(err):
            cause = next((os.strerror(e.errno) for e in chain[index + 1:]
                          if isinstance(e, OSError) and e.errno), None)
            return _line(err) + (f" ({cause})" if cause else "")
    errno_error = next((e for e in chain if isinstance(e, OSError) and e.strerror), None)
    if errno_error is not None:
        return _line(errno_error)
    return _line(exc)


def handshake_cut_short(exc: BaseException) -> bool:
    """Whether the connection was made and then failed in the handshake (not for another
    PSK we could tell).

    A peer in a private network that we dial without its PSK reads our cleartext as
    its nonce and noise, and drops us during the handshake: this is what we see. Either
    as a failed security negotiation, or, when its reset overtakes the nonce it sent us
    (a close with our bytes unread resets the connection, and the reset discards what we
    had not read yet), as a connection error that py-libp2p does not wrap.
    """
    chain = list(causes(exc))
    if find_private_network_mismatch(exc) is not None or any(
        isinstance(err, OpenConnectionError) for err in chain  # TCP never connected
    ):
        return False
    return any(isinstance(err, (SecurityUpgradeFailure, *_CUT_CONNECTION)) for err in chain)


# What a read or write on a connection that the peer reset raises, layer by layer.
_CUT_CONNECTION: tuple[type[BaseException], ...] = (
    IOException, ConnectionResetError, BrokenPipeError, trio.BrokenResourceError,
)


class DialFailures:
    """The latest real reason each peer could not be dialled (the last ``size`` peers)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._reasons: OrderedDict[str, str] = OrderedDict()
        self._strangers: set[str] = set()  # of those, the ones in another private network

    def describe(self, peer_id: str, exc: BaseException) -> str:
        """``exc`` in one line; a negative-cache refusal gets the reason remembered for it."""
        text = dial_failure_reason(exc)
        if NEGATIVE_CACHE_MARK in text:
            known = self._reasons.get(peer_id)
            return known or text
        self._reasons[peer_id] = text
        self._reasons.move_to_end(peer_id)
        if find_private_network_mismatch(exc) is not None:
            self._strangers.add(peer_id)
        else:
            self._strangers.discard(peer_id)
        while len(self._reasons) > self._size:
            self._strangers.discard(self._reasons.popitem(last=False)[0])
        return text

    def in_other_network(self, peer_id: str) -> bool:
        """Whether the latest dial of ``peer_id`` failed for want of the same PSK."""
        return peer_id in self._strangers

    def forget(self, peer_id: str) -> None:
        """``peer_id`` answered: its old failure is no reason any more."""
        self._reasons.pop(peer_id, None)
        self._strangers.discard(peer_id)


# One per process: the swarm's negative cache is per host, and a process runs one host
# (a test process several, whose peers have distinct ids).
DIAL_FAILURES = DialFailures()


def _line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
