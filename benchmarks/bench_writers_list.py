"""get through a registry-service with a --writers-file vs one without, same run.

Used by bench_get.py. Reads never consult the writers list, so the two must be
equal within noise (goal: within 5 %). Rounds alternate the two daemons so that
load from elsewhere on the machine hits both alike; each figure is the median round.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trio
from registry_process import RegistryProcess

from adapters.libp2p.identity import KeyAlgorithm, create_identity_file, peer_id_of


def compare_writers_list(
    work: Path,
    passphrase: str,
    plain: RegistryProcess,
    add_record: Callable[[RegistryProcess, Path], None],
    load: Callable[..., dict],
    name: str,
    requests: int,
    rounds: int,
) -> dict[str, dict]:
    key = work / "writer.key"
    writer = peer_id_of(create_identity_file(key, KeyAlgorithm.ED25519, 2048))
    writers = work / "writers"
    writers.write_text(f"# benchmark\n{writer}\n")
    guarded = RegistryProcess(work / "guarded", passphrase=passphrase,
                              extra_args=["--writers-file", str(writers)]).start()
    results: dict[str, dict] = {}
    try:
        add_record(guarded, key)  # the measuring client itself is not listed: it only reads
        for conc in (1, 32):
            runs: dict[str, list[dict]] = {"off": [], "on": []}
            pair = [("off", plain), ("on", guarded)]
            for round_ in range(rounds):
                # Alternate which goes first: the second of a pair runs on a warmer machine.
                for kind, daemon in pair if round_ % 2 == 0 else pair[::-1]:
                    runs[kind].append(trio.run(load, daemon.addrs[0], "/get/0.1",
                                               name.encode(), requests, conc))
            for kind, measured in runs.items():
                median = sorted(measured, key=lambda r: r["rps"])[len(measured) // 2]
                results[f"get writers-list {kind} c={conc}"] = median
    finally:
        guarded.stop()
    return results


def report_writers_list(results: dict[str, dict]) -> None:
    for conc in (1, 32):
        on = results[f"get writers-list on c={conc}"]
        off = results[f"get writers-list off c={conc}"]
        print(f"get c={conc}: writers list off {off['rps']:.0f} req/s p50 {off['p50_ms']:.2f} ms, "
              f"on {on['rps']:.0f} req/s p50 {on['p50_ms']:.2f} ms")
        print(f"get with/without writers list c={conc}: throughput {on['rps'] / off['rps']:.3f}, "
              f"p50 {on['p50_ms'] / off['p50_ms']:.3f}  (goal: within 5 %)")
