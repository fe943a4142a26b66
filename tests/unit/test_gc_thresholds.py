"""entrypoints/service/gc_thresholds.py: the daemon collects young objects in larger
batches, and still collects every generation."""

from __future__ import annotations

import gc

from entrypoints.service.gc_thresholds import THRESHOLDS, relax_garbage_collection


def test_the_daemon_collects_in_larger_batches_and_still_collects_cycles() -> None:
    before = gc.get_threshold()
    try:
        relax_garbage_collection()
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] > before[0] and all(t > 0 for t in THRESHOLDS)  # 0 = never
        assert gc.isenabled()
    finally:
        gc.set_threshold(*before)
