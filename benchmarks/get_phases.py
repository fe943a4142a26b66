"""Where a js-libp2p client's `/get/0.1` at 1 stream spends its time: ours against js-libp2p.

Run (root, for tcpdump): .venv/bin/python benchmarks/get_phases.py [--rounds 3] [--seconds 4]

The js-libp2p client (tests/integration/interop/get_rate.mjs) sends one get after another
on a new stream each, to registry-service and then to canned_get_server.mjs (js-libp2p
answering the same bytes from memory), alternating rounds, while tcpdump records the
loopback. Each get is then split at its TCP segments (sizes are fixed: the client's
SYN and proposal 60 bytes, its request 33, its FIN 30; the answer > 200) into five
phases, two the server's and three the client's:

  negotiate  client's SYN + proposal -> the server's last segment before the request
  request    -> the client's request (the client takes in the echo, writes)
  fin        request -> the client's FIN
  answer     FIN -> the server's answer
  next       answer -> the client's next SYN (it reads the answer, opens a stream)

Means and medians per phase in µs, and the gets per second of the same rounds (the
capture slows both servers alike). Why it exists: at 1 stream a get is latency, and
this says whether a gap is the server's turnaround or the client's.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import bench_scale  # noqa: E402
from cluster_fixtures import Cluster  # noqa: E402

PHASES = ("negotiate", "request", "fin", "answer", "next")
SYN_AND_PROPOSAL, REQUEST = 60, 33  # the client's segments, bytes of TCP payload
_SEGMENT = re.compile(r"(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.\d+: tcp (\d+)")


def segments(pcap: Path, server_port: int) -> list[tuple[float, bool, int]]:
    """(time, sent by the server, payload bytes) of each segment that carries data."""
    text = subprocess.run(["tcpdump", "-r", str(pcap), "-tt", "-n", "-q"],
                          capture_output=True, text=True, check=True).stdout
    found = (_SEGMENT.match(line) for line in text.splitlines())
    return [(float(m[1]), int(m[2]) == server_port, int(m[3]))
            for m in found if m and int(m[3]) > 0]


def phases(segs: list[tuple[float, bool, int]]) -> dict[str, list[float]]:
    """Each complete get's five phases, in seconds."""
    starts = [i for i, (_, by_server, size) in enumerate(segs)
              if not by_server and size == SYN_AND_PROPOSAL]
    out: dict[str, list[float]] = {name: [] for name in PHASES}
    for first, last in itertools.pairwise(starts):
        get = segs[first:last + 1]
        times = [t for t, _, _ in get]
        request = next((i for i, (_, s, n) in enumerate(get) if not s and n == REQUEST), None)
        answer = next((i for i, (_, s, n) in enumerate(get) if s and n > 200), None)
        if request is None or answer is None or answer < request + 1:
            continue
        echo = max((i for i, (_, s, _) in enumerate(get[:request]) if s), default=None)
        if echo is None:
            continue
        fin = request + 1
        for name, span in zip(PHASES, (times[echo] - times[0], times[request] - times[echo],
                                       times[fin] - times[request], times[answer] - times[fin],
                                       times[-1] - times[answer]), strict=True):
            out[name].append(span)
    return out


def captured_rate(addr: str, seconds: float, pcap: Path) -> tuple[float, dict[str, list[float]]]:
    port = int(re.search(r"/tcp/(\d+)", addr)[1])  # type: ignore[index]
    capture = subprocess.Popen(["tcpdump", "-i", "lo", "-w", str(pcap), "-s", "96",
                                f"tcp port {port}"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # tcpdump is listening
        result = bench_scale.js_rate(addr, 1, seconds)
        time.sleep(0.2)
    finally:
        capture.terminate()
        capture.wait(10)
    return result["perSecond"], phases(segments(pcap, port))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    if shutil.which("tcpdump") is None or os.geteuid() != 0:
        sys.exit("get_phases.py needs tcpdump (apt-get install tcpdump) and root to capture")
    with tempfile.TemporaryDirectory(prefix="get-phases-") as workdir:
        cluster = Cluster(Path(workdir))
        server = None
        try:
            addr = cluster.add_instance().proc.addrs[0]
            server, js_addr = bench_scale.start_canned_server(
                bench_scale.register_the_get_record(addr))
            bench_scale.js_rate(js_addr, 1, 0.5)
            for round_ in range(args.rounds):
                for who, target in (("ours", addr), ("js", js_addr)):
                    rate, spans = captured_rate(target, args.seconds,
                                                Path(workdir) / f"{who}{round_}.pcap")
                    if not spans["answer"]:
                        sys.exit(f"no whole get in the capture of {target}: did tcpdump run?")
                    text = "  ".join(
                        f"{name} {statistics.mean(v) * 1e6:.0f}/{statistics.median(v) * 1e6:.0f}"
                        for name, v in spans.items())
                    print(f"round {round_} {who:4s} {rate:5.0f} gets/s, "
                          f"{len(spans['answer'])} split; µs mean/median: {text}", flush=True)
        finally:
            bench_scale.stop_canned_server(server)
            cluster.stop_all()


if __name__ == "__main__":
    main()
