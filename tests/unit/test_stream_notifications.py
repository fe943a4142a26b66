"""Stream events skip notifees that ignore them, and only those."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from adapters.libp2p.upstream.stream_notifications import (
    IGNORED_STREAM_EVENTS,
    notify_only_listening_notifees,
)


@pytest.mark.parametrize("kind, method", sorted(IGNORED_STREAM_EVENTS, key=str))
def test_the_notifee_methods_skipped_still_do_nothing_in_py_libp2p(kind, method) -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(kind, method))))
    body = tree.body[0].body  # type: ignore[attr-defined]
    doing = [node for node in body
             if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
             and not isinstance(node, ast.Pass)
             and not (isinstance(node, ast.Return) and node.value is None)
             and not (isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                      and node.value.value is None)]
    assert not doing, f"{kind.__name__}.{method} now does something: update the list"


class FakeSwarm:
    def __init__(self, notifees: list) -> None:
        self.notifees = notifees
        self.sent: list[str] = []

    async def _notify(self, method: str, *args: object) -> None:
        self.sent.append(method)


class Listening:
    async def opened_stream(self, network: object, stream: object) -> None: ...


async def test_stream_events_reach_the_swarm_only_when_a_notifee_listens() -> None:
    from libp2p.network.tag_store import TagStoreNotifee

    quiet = FakeSwarm([object.__new__(TagStoreNotifee)])
    notify_only_listening_notifees(quiet)
    await quiet._notify("opened_stream", "stream")
    await quiet._notify("connected", "conn")
    assert quiet.sent == ["connected"]

    listening = FakeSwarm([object.__new__(TagStoreNotifee), Listening()])
    notify_only_listening_notifees(listening)
    await listening._notify("opened_stream", "stream")
    assert listening.sent == ["opened_stream"]
