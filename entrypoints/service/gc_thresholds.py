"""The cyclic garbage collector's thresholds for a daemon that holds a thousand connections.

CPython's defaults (700, 10, 10) collect the youngest generation every 700 allocations.
Writing one change to 1000 watchers allocates far more than that, and objects caught
mid-write survive into the older generations, which then fill and are collected whole:
the whole heap of 1000 connections, over and over. Measured (benchmarks/bench_scale.py's
method, 1000 watching clients, one put at a time): 1.07 s of daemon CPU per put with the
defaults, 0.24 s with these; the last client had the put after up to 3.1 s, then 0.2-1.2 s.
Unreachable cycles are still collected, only in larger batches: a full collection still
runs every 10^8 allocations or so (and only when the old generation grew by a quarter).
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def relax_garbage_collection() -> None:
    gc.set_threshold(*THRESHOLDS)
