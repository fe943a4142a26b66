"""The baseline of bench_wan.py's writes: puts straight to one etcd member, no registry.

Run inside a member's network namespace: ``python bare_etcd_puts.py TARGET COUNT
INTERVAL``, TARGET the member's gRPC target (``10.77.0.2:2379``, or
``unix:client.sock:2379`` run in its data dir). Prints one JSON line: the seconds of
each put, each a plain gRPC KV.Put from this process to the member, as etcd's own
client would send it. Through a follower's member the put travels to the leader and its
commit comes back, just as a registry write through that follower's instance does.
"""

from __future__ import annotations

import json
import sys
import time

import grpc
from etcd3 import etcdrpc


def main(target: str, count: int, interval: float) -> None:
    channel = grpc.insecure_channel(target)
    kv = etcdrpc.KVStub(channel)
    kv.Range(etcdrpc.RangeRequest(key=b"warm-up", serializable=True), timeout=10)
    seconds = []
    for i in range(count):
        request = etcdrpc.PutRequest(key=f"bare-etcd-{time.time_ns()}-{i}".encode(), value=b"1")
        started = time.perf_counter()
        kv.Put(request, timeout=10)
        seconds.append(time.perf_counter() - started)
        time.sleep(interval)
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
