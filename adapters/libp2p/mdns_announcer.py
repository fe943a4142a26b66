"""registry-service --mdns: answer libp2p mDNS queries with our peer id and addresses."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import trio

from adapters.libp2p.mdns_socket import open_mdns_socket, send_to_group
from adapters.libp2p.mdns_wire import PORT, is_our_query, new_peer_name, response

log = logging.getLogger("registry-service")

# A query flood must not turn us into an amplifier: at most one multicast answer per
# interval (later queries wait for it, none goes unanswered), and a bounded number of
# unicast ones (legacy queriers, RFC 6762 6.7) per second.
MULTICAST_INTERVAL = 0.1
UNICAST_PER_SECOND = 20


async def announce_forever(
    addresses: Callable[[], list[str]],
    *,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Answer every PTR _p2p._udp.local query until cancelled.

    ``addresses`` gives our full addresses (ending in /p2p/<peer id>) at answer time.
    """
    peer_name = new_peer_name()
    sock = await open_mdns_socket()
    with sock:
        log.info("mDNS: announcing this instance on the LAN as %s._p2p._udp.local", peer_name)
        task_status.started()
        # Unasked, once at start (RFC 6762 8.3): peers that query every 10 s, as
        # @libp2p/mdns does by default, learn of us now rather than at their next query.
        await send_to_group(sock, response(peer_name, addresses()))
        # Queries that arrive while an answer is pending share it: every query is answered
        # within MULTICAST_INTERVAL, and never more often than that.
        due, pending = trio.open_memory_channel[None](1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_multicast_answers, sock, pending, peer_name, addresses)
            unicast_window, unicast_count = 0.0, 0
            while True:
                try:
                    data, source = await sock.recvfrom(9000)
                except OSError as exc:  # a datagram lost or refused: keep answering others
                    log.debug("mDNS: receive failed: %s", exc)
                    await trio.sleep(0.01)
                    continue
                if not is_our_query(data):  # junk and other services' traffic included
                    continue
                if source[1] != PORT:  # a one-shot querier: it hears only a unicast answer
                    now = trio.current_time()
                    if now - unicast_window >= 1.0:
                        unicast_window, unicast_count = now, 0
                    if unicast_count < UNICAST_PER_SECOND:
                        unicast_count += 1
                        await _send_quietly(sock, response(peer_name, addresses()), source)
                    continue
                with contextlib.suppress(trio.WouldBlock):
                    due.send_nowait(None)


async def _multicast_answers(
    sock: trio.socket.SocketType,
    pending: trio.MemoryReceiveChannel[None],
    peer_name: str,
    addresses: Callable[[], list[str]],
) -> None:
    async for _ in pending:
        await send_to_group(sock, response(peer_name, addresses()))
        await trio.sleep(MULTICAST_INTERVAL)


async def _send_quietly(sock: trio.socket.SocketType, payload: bytes, to: tuple) -> None:
    try:
        await sock.sendto(payload, to)
    except OSError as exc:
        log.debug("mDNS: answer to %s not sent: %s", to, exc)
