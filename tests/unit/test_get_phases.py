"""benchmarks/get_phases.py splits each get at its TCP segments into the right phases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from get_phases import phases

C, S = False, True  # sent by the client / by the server


def _get(start: float, server_frames: list[tuple[float, int]]) -> list[tuple[float, bool, int]]:
    """One get from ``start`` (µs): SYN+proposal, the server's echo segments, the
    client's window update, request and FIN, the answer, the client's two updates."""
    us = 1e-6
    return [
        (start * us, C, 60),
        *[((start + t) * us, S, n) for t, n in server_frames],
        ((start + 150) * us, C, 30),
        ((start + 400) * us, C, 33),
        ((start + 440) * us, C, 30),
        ((start + 580) * us, S, 251),
        ((start + 700) * us, C, 30),
        ((start + 800) * us, C, 30),
    ]


def test_a_get_answered_in_one_echo_segment_splits_into_its_five_phases() -> None:
    segs = _get(0, [(100, 72)]) + _get(900, [(100, 72)])
    split = phases(segs)
    assert [round(v[0] * 1e6) for v in split.values()] == [100, 300, 40, 140, 320]
    assert all(len(v) == 1 for v in split.values())  # the last get has no next SYN


def test_the_echo_ends_at_the_servers_last_segment_before_the_request() -> None:
    # js-libp2p's server: window update, header, protocol, each its own segment.
    segs = _get(0, [(70, 30), (140, 50), (160, 40)]) + _get(900, [(70, 30)])
    split = phases(segs)
    assert round(split["negotiate"][0] * 1e6) == 160
    assert round(split["request"][0] * 1e6) == 240


def test_a_get_without_an_answer_is_left_out() -> None:
    first = [s for s in _get(0, [(100, 72)]) if s[2] != 251]
    segs = first + _get(900, [(100, 72)]) + _get(1800, [(100, 72)])
    split = phases(segs)
    assert len(split["answer"]) == 1
    assert split["answer"][0] == pytest.approx(140e-6)
