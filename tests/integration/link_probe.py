"""Measure a link's delay and loss from inside a network namespace, with UDP probes.

    python link_probe.py echo                  # answers each datagram; prints "ready"
    python link_probe.py measure HOST COUNT    # COUNT probes 20 ms apart; prints JSON

``measure`` prints {"sent": COUNT, "rtts": [seconds, ...]}: one round trip per probe
answered within 2 s of the last one sent. Each namespace has its own port space.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import sys
import time

PORT = 7077
INTERVAL = 0.02
LAST_WAIT = 2.0


def echo() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", PORT))
    print("ready", flush=True)
    while True:
        data, peer = sock.recvfrom(64)
        sock.sendto(data, peer)


def measure(host: str, count: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent: dict[int, float] = {}
    rtts: dict[int, float] = {}
    start = time.monotonic()
    while True:
        now = time.monotonic()
        if len(sent) < count and now >= start + len(sent) * INTERVAL:
            seq = len(sent)
            sent[seq] = now
            sock.sendto(struct.pack("!I", seq), (host, PORT))
            continue
        if len(sent) == count and (len(rtts) == count or now > sent[count - 1] + LAST_WAIT):
            break
        wake = start + len(sent) * INTERVAL if len(sent) < count else sent[count - 1] + LAST_WAIT
        if select.select([sock], [], [], max(0.0, wake - now))[0]:
            (seq,) = struct.unpack("!I", sock.recv(64))
            rtts.setdefault(seq, time.monotonic() - sent[seq])
    print(json.dumps({"sent": count, "rtts": [round(r, 4) for r in rtts.values()]}))


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        echo()
    else:
        measure(sys.argv[2], int(sys.argv[3]))
