"""A closed connection is freed when it closes, not whenever the cyclic GC gets to it.

py-libp2p 0.8.1 builds reference cycles into every connection:
- ``SwarmConn.__init__`` sets ``muxed_conn.on_close`` (a bound method of the SwarmConn)
  and ``muxed_conn.remove_stream`` (a closure over it): SwarmConn and muxer hold
  each other;
- ``ResourceManager.open_connection`` replaces ``scope.close`` with a closure over the
  scope (an inbound connection has two scopes: before and after its upgrade);
- noiseprotocol's ``NoiseConnection`` keeps ``_next_fn``, a bound method of itself,
  after the handshake.
Everything a connection holds (socket, PSK and Noise cipher states, Yamux, trio tasks:
~130 objects) then waited for the cyclic GC. Most of it outlived the young generations
and waited for a full collection, which CPython runs only once the survivors reach a
quarter of the long-lived objects (~130 000 gc-tracked in a daemon). Each such wave of
garbage spread over the heap and pymalloc's pools, which are not given back: a daemon's
RSS rose by 4-6 MB over its first ~600 short-lived clients (``docs/performance.md``).

Here each cycle is cut, so a connection's objects are freed by reference counting when
the last task holding them ends: the muxer's hooks reach the SwarmConn through a weak
reference, a scope's ``close`` drops itself once it has run, and a Noise session's
handshake step is cleared once the handshake is done.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any


def free_connections_when_closed(network: Any) -> None:
    """Per host: cut the reference cycles of each connection this swarm makes."""
    _weaken_muxer_hooks(network)
    _scopes_close_once(getattr(network, "_resource_manager", None))
    _clear_noise_handshake_step(network.upgrader)


def _weaken_muxer_hooks(network: Any) -> None:
    upstream_add_conn = network.add_conn

    async def add_conn(muxed_conn: Any, direction: str = "unknown") -> Any:
        swarm_conn = await upstream_add_conn(muxed_conn, direction)
        weaken_hooks(muxed_conn)
        return swarm_conn

    network.add_conn = add_conn


def weaken_hooks(muxed_conn: Any) -> None:
    """Point the muxer's SwarmConn hooks at their SwarmConn through a weak reference."""
    owner = getattr(getattr(muxed_conn, "on_close", None), "__self__", None)
    if owner is None:
        return
    muxed_conn.on_close = _weak_on_close(weakref.ref(owner))
    if "remove_stream" in vars(muxed_conn):
        muxed_conn.remove_stream = _weak_remove_stream(weakref.ref(owner))


def _weak_on_close(owner: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    # A coroutine function: Yamux awaits ``on_close`` only if it is one.
    async def on_close() -> None:
        swarm_conn = owner()
        if swarm_conn is not None:
            await swarm_conn._on_muxed_conn_closed()

    return on_close


def _weak_remove_stream(owner: Callable[[], Any]) -> Callable[[Any], Awaitable[None]]:
    async def remove_stream(stream: Any) -> None:
        swarm_conn = owner()
        if swarm_conn is not None:
            swarm_conn.remove_stream(stream)

    return remove_stream


def _scopes_close_once(manager: Any) -> None:
    if manager is None:
        return
    upstream_open = manager.open_connection

    def open_connection(*args: Any, **kwargs: Any) -> Any:
        scope = upstream_open(*args, **kwargs)
        close = vars(scope).get("close") if scope is not None else None
        if close is None:
            return scope

        def close_once() -> None:
            try:
                close()
            finally:
                # The class's close is left: it does nothing on a closed scope.
                vars(scope).pop("close", None)

        scope.close = close_once
        return scope

    manager.open_connection = open_connection


def _clear_noise_handshake_step(upgrader: Any) -> None:
    upstream_upgrade = upgrader.upgrade_security

    async def upgrade_security(raw_conn: Any, is_initiator: bool, peer_id: Any = None) -> Any:
        secure_conn = await upstream_upgrade(raw_conn, is_initiator, peer_id)
        clear_handshake_step(secure_conn)
        return secure_conn

    upgrader.upgrade_security = upgrade_security


def clear_handshake_step(secure_conn: Any) -> None:
    """Drop a finished Noise handshake's next step (a bound method of its own state)."""
    noise_state = getattr(getattr(secure_conn, "conn", None), "noise_state", None)
    if noise_state is not None and getattr(noise_state, "handshake_finished", False):
        noise_state._next_fn = None
