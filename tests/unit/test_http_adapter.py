"""The HTTP adapter's pure parts: query parameters and SSE framing."""

from __future__ import annotations

import pytest

from adapters.http.query import BadQuery, names_list, non_negative_int, wait_seconds
from adapters.http.sse import SseFramer
from domain.watch_wire import EventType, WatchEvent


def test_wait_is_a_consul_duration_defaulting_to_5_min_and_capped_at_10():
    assert wait_seconds(None) == 300
    assert wait_seconds("30s") == 30
    assert wait_seconds("250ms") == 0.25
    assert wait_seconds("2") == 2
    assert wait_seconds("1h") == 600
    with pytest.raises(BadQuery, match="wait"):
        wait_seconds("soon")


def test_index_and_cas_are_non_negative_integers():
    assert non_negative_int({"cas": "0"}, "cas") == 0
    assert non_negative_int({}, "cas") is None
    for bad in ("-1", "1.5", "x", "\u0661"):  # an Arabic-Indic digit: isdigit, not ASCII
        with pytest.raises(BadQuery, match="cas"):
            non_negative_int({"cas": bad}, "cas")


def test_names_are_comma_separated():
    assert names_list("a,b,,c") == ["a", "b", "c"]
    assert names_list("") is None


def _put(name: str, revision: int) -> WatchEvent:
    return WatchEvent(type=EventType.PUT, name=name, info_str="{}", revision=revision)


def test_state_puts_and_reset_carry_no_id_so_a_resume_never_skips_records():
    framer = SseFramer(snapshot_first=True)
    state = framer.frame(_put("b", 9))
    synced = framer.frame(WatchEvent(type=EventType.SYNCED, revision=12))
    change = framer.frame(_put("a", 13))
    reset = framer.frame(WatchEvent(type=EventType.RESET, revision=20))
    after_reset = framer.frame(_put("c", 3))
    assert b"id:" not in state and b"id:" not in reset and b"id:" not in after_reset
    assert b"id: 12\n" in synced and b"id: 13\n" in change
    assert change == (b'event: PUT\nid: 13\ndata: {"Type":"PUT","Name":"a","InfoStr":"{}",'
                      b'"Revision":13}\n\n')


def test_a_resumed_stream_gives_every_change_an_id():
    framer = SseFramer(snapshot_first=False)
    assert b"id: 5\n" in framer.frame(_put("a", 5))
    assert b"id:" not in framer.frame(WatchEvent(type=EventType.ERROR, error="x"))
