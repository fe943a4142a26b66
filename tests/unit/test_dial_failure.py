"""A failed dial's real reason, also once py-libp2p only says "negative cache" (issue 26)."""

from __future__ import annotations

import pytest
import trio
from libp2p.exceptions import MultiError
from libp2p.network.exceptions import SwarmDialAllFailedError, SwarmException
from libp2p.protocol_muxer.exceptions import MultiselectError
from libp2p.transport.exceptions import OpenConnectionError, SecurityUpgradeFailure

from adapters.libp2p.dial_failure import DialFailures, dial_failure_reason, handshake_cut_short
from adapters.libp2p.pnet import PrivateNetworkMismatch

PEER = "12D3KooWPeer"
NEGATIVE = SwarmException(f"Peer {PEER} recently failed all addresses (negative cache)")


def _wrapped(inner: BaseException) -> SwarmDialAllFailedError:
    """The layers py-libp2p 0.8's swarm puts around one address's failure."""
    swarm = SwarmException(f"failed for peer {PEER}: {inner}")
    swarm.__cause__ = inner
    multi = MultiError([swarm])
    top = SwarmDialAllFailedError(
        f"unable to connect to {PEER}, no addresses established a successful connection "
        "(with exceptions)", peer_id=PEER, num_addrs_tried=1,  # type: ignore[arg-type]
    )
    top.__cause__ = multi
    return top


def _refused() -> SwarmDialAllFailedError:
    refused = ConnectionRefusedError(111, "Error connecting to ('127.0.0.2', 26201)")
    group = ExceptionGroup("all attempts to connect to 127.0.0.2:26201 failed", [refused])
    attempts = OSError("all attempts to connect to 127.0.0.2:26201 failed")
    attempts.__cause__ = group
    opened = OpenConnectionError(f"Failed to open TCP stream to /ip4/127.0.0.2: {attempts}")
    opened.__cause__ = attempts
    return _wrapped(opened)


def _other_network() -> SwarmDialAllFailedError:
    mismatch = PrivateNetworkMismatch(
        "the peer is not in our private network: different passphrase/PSK (peer 127.0.0.2:1)"
    )
    upgrade = SwarmException(f"failed to upgrade security for peer {PEER}: {mismatch}")
    upgrade.__cause__ = mismatch
    return _wrapped(upgrade)


def _handshake_cut() -> SwarmDialAllFailedError:
    selected = MultiselectError("Failed to negotiate a security protocol: no protocol selected")
    failure = SecurityUpgradeFailure("failed to negotiate the secure protocol")
    failure.__cause__ = selected
    return _wrapped(failure)


def test_a_refused_connection_is_named_with_its_address_and_errno() -> None:
    assert dial_failure_reason(_refused()) == (
        "all attempts to connect to 127.0.0.2:26201 failed (Connection refused)"
    )


def test_another_private_network_is_named() -> None:
    assert dial_failure_reason(_other_network()).startswith(
        "the peer is not in our private network: different passphrase/PSK"
    )


@pytest.mark.parametrize("failure", [_refused, _other_network])
def test_the_negative_cache_refusal_repeats_the_real_reason(failure) -> None:  # type: ignore[no-untyped-def]
    failures = DialFailures()
    real = failures.describe(PEER, failure())
    assert "negative cache" not in real
    assert failures.describe(PEER, NEGATIVE) == real
    assert failures.describe("12D3KooWOther", NEGATIVE) == str(NEGATIVE)  # nothing known


def test_in_other_network_follows_the_latest_real_failure() -> None:
    failures = DialFailures()
    failures.describe(PEER, _other_network())
    failures.describe(PEER, NEGATIVE)
    assert failures.in_other_network(PEER)
    failures.describe(PEER, _refused())
    assert not failures.in_other_network(PEER)
    failures.describe(PEER, _other_network())
    failures.forget(PEER)  # it answered since
    assert not failures.in_other_network(PEER)
    assert failures.describe(PEER, NEGATIVE) == str(NEGATIVE)


def test_the_remembered_reasons_are_bounded() -> None:
    failures = DialFailures(size=3)
    for index in range(10):
        failures.describe(f"peer{index}", _other_network())
    assert [failures.in_other_network(f"peer{i}") for i in range(10)] == [False] * 7 + [True] * 3
    assert failures.describe("peer0", NEGATIVE) == str(NEGATIVE)


def _reset_before_our_read() -> SwarmDialAllFailedError:
    reset = ConnectionResetError(104, "Connection reset by peer")
    broken = trio.BrokenResourceError(f"socket connection broken: {reset}")
    broken.__cause__ = reset
    unexpected = SwarmException(f"Unexpected error dialing peer {PEER}")
    unexpected.__cause__ = broken
    return _wrapped(unexpected)


def test_a_handshake_cut_short_is_told_apart_from_another_psk() -> None:
    assert handshake_cut_short(_handshake_cut())
    assert handshake_cut_short(_reset_before_our_read())
    assert not handshake_cut_short(_other_network())
    assert not handshake_cut_short(_refused())
