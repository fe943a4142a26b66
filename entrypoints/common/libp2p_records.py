"""py-libp2p's log records, in the daemon's log: one line each, timestamped, re-levelled.

py-libp2p's import gives its "libp2p" logger no handler and no propagation, so its
records reached stderr through Python's last-resort handler: no timestamp, no level,
and multi-line blocks. It logs at ERROR what is routine on a network of peers that
come and go (a dial that failed, a stream a peer refused). Here each record becomes
one line through our handlers: at DEBUG, or at WARNING when it names a real fault.
"""

from __future__ import annotations

import logging

# Routine on a peer-to-peer network, whatever level py-libp2p gives them: the client or
# the daemon reports the outcome itself, in its own words.
_ROUTINE = (
    "failed to open stream",
    "failed to open tcp stream",
    "negative cache",
    "failed to upgrade security",
    "failed to negotiate",
    "handshake",
    "connection closed",
    "stream reset",
    "dial",
    "unable to connect",
    "timed out",
    "timeout",
    # A peer that went away while we wrote to it (e.g. identify's answer to a client
    # that is already done): py-libp2p logs these at ERROR, with a traceback.
    "reset by remote peer",
    "connection reset",
    "broken pipe",
    "write operation failed",
    "read operation failed",
)
# ...unless it says that a peer is in another private network: a misconfiguration.
_FAULTS = ("not in our private network",)


def level_for(record: logging.LogRecord) -> int:
    """DEBUG for py-libp2p's chatter and routine peer failures; WARNING for real faults."""
    if record.levelno < logging.ERROR:
        return logging.DEBUG
    text = record.getMessage().lower()
    if any(mark in text for mark in _FAULTS):
        return logging.WARNING
    if any(mark in text for mark in _ROUTINE):
        return logging.DEBUG
    return logging.WARNING


class OurLogHandler(logging.Handler):
    """Hands py-libp2p's records, re-levelled and made one line, to the root logger."""

    def emit(self, record: logging.LogRecord) -> None:
        level = level_for(record)
        root = logging.getLogger()
        if not root.isEnabledFor(level):
            return
        try:
            message = record.getMessage()
        except Exception:  # a broken format string in py-libp2p: show it as it is
            message = str(record.msg)
        record.msg = " | ".join(line.strip() for line in message.splitlines() if line.strip())
        record.args = None
        record.levelno = level
        record.levelname = logging.getLevelName(level)
        root.handle(record)


def route_libp2p_records() -> None:
    """From now on py-libp2p logs through our handlers (run after importing libp2p)."""
    logger = logging.getLogger("libp2p")
    logger.handlers[:] = [OurLogHandler()]
    logger.propagate = False  # the handler passes them on, re-levelled
    # ERROR and above may be real faults (shown at WARNING); the rest only at DEBUG.
    logger.setLevel(logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG)
                    else logging.ERROR)
