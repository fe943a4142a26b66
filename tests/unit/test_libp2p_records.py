"""py-libp2p's records in the daemon's log: one timestamped line, re-levelled (issue 26)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from entrypoints.common.libp2p_records import level_for, route_libp2p_records

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


@pytest.fixture
def daemon_log() -> Iterator[io.StringIO]:
    """The daemon's logging at INFO, into a buffer; py-libp2p's logger as its import leaves it."""
    root = logging.getLogger()
    libp2p = logging.getLogger("libp2p")
    saved = (root.level, list(root.handlers), libp2p.level, libp2p.propagate, list(libp2p.handlers))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    libp2p.handlers.clear()
    libp2p.setLevel(logging.WARNING)
    libp2p.propagate = False
    yield out
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    libp2p.setLevel(saved[2])
    libp2p.propagate = saved[3]
    libp2p.handlers[:] = saved[4]


def _record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("libp2p.x", level, __file__, 1, message, None, None)


def test_routine_peer_failures_are_debug_and_faults_warning() -> None:
    assert level_for(_record("Failed to open TCP stream: all attempts to connect")) == logging.DEBUG
    assert level_for(_record("Failed to open stream to peer X:\n  Error: handshake read failed")) \
        == logging.DEBUG
    assert level_for(_record("something went wrong", logging.WARNING)) == logging.DEBUG
    assert level_for(_record(
        "Error sending identify response to QmPeer: Write operation failed: TCP connection "
        "reset by remote peer: socket connection broken: [Errno 32] Broken pipe")) \
        == logging.DEBUG
    assert level_for(_record("failed to upgrade security for peer X: the peer is not in our "
                             "private network: different passphrase/PSK")) == logging.WARNING
    assert level_for(_record("Unexpected error in the pubsub router")) == logging.WARNING


def test_at_info_routine_records_are_left_out_and_faults_are_one_timestamped_line(
    daemon_log: io.StringIO,
) -> None:
    route_libp2p_records()
    host = logging.getLogger("libp2p.host.basic_host")
    host.error("Failed to open stream to peer %s:\n  Error: handshake read failed\n"
               "  Registry Stats: None", "QmPeer")
    logging.getLogger("libp2p.transport.tcp").error("Failed to open TCP stream: %s", "refused")
    logging.getLogger("libp2p.network.swarm").warning("dialling %s", "QmPeer")
    logging.getLogger("libp2p.pubsub").error("Unexpected error:\n  in the router")
    lines = daemon_log.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(" libp2p.pubsub WARNING Unexpected error: | in the router")
    assert lines[0][:4].isdigit()  # the timestamp


def test_at_debug_everything_shows_as_debug_lines(daemon_log: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    route_libp2p_records()
    logging.getLogger("libp2p.host.basic_host").error(
        "Failed to open stream to peer QmPeer:\n  Registry Stats: None")
    [line] = daemon_log.getvalue().splitlines()
    assert " libp2p.host.basic_host DEBUG Failed to open stream to peer QmPeer: | Registry " \
        "Stats: None" in line
