"""How loud py-libp2p may be in our CLIs and in programs using the library."""

from __future__ import annotations

import logging
import os

LEVEL_VARIABLE = "REGISTRY_LOG_LEVEL"


def requested_level() -> str:
    """``REGISTRY_LOG_LEVEL`` (upper case), or '' when unset."""
    return os.environ.get(LEVEL_VARIABLE, "").strip().upper()


def quiet_libp2p() -> None:
    """Silence py-libp2p unless REGISTRY_LOG_LEVEL or the caller set its level.

    It logs every failed dial and DHT hiccup ("Failed to open TCP stream",
    "Error getting providers") while one instance is down; the client reports
    the outcome itself, through its own errors.
    """
    logger = logging.getLogger("libp2p")
    level = requested_level()
    if level:
        logger.setLevel(level)
        logger.propagate = True  # to the handlers our CLIs (or the caller) configured
        return
    # py-libp2p's import sets WARNING, no handler, no propagation: Python's last-resort
    # handler then prints its warnings on stderr. Another level is the caller's choice
    # (REGISTRY_LOG_LEVEL=WARNING brings the warnings back), as is LIBP2P_DEBUG.
    untouched = logger.level in (logging.NOTSET, logging.WARNING)
    if untouched and not os.environ.get("LIBP2P_DEBUG"):
        logger.setLevel(logging.CRITICAL)


def route_libp2p_into_our_log() -> None:
    """The daemon: py-libp2p's records through our handlers, one timestamped line each.

    At DEBUG, or at WARNING when they name a real fault (entrypoints.common.libp2p_records).
    LIBP2P_DEBUG keeps py-libp2p's own set-up, as its documentation says.
    """
    if os.environ.get("LIBP2P_DEBUG"):
        return
    import libp2p  # noqa: F401  # its import sets its logger up: ours must come after

    from entrypoints.common.libp2p_records import route_libp2p_records

    route_libp2p_records()
