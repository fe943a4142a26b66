"""A slow, lossy link without `tc netem`: delay and drop queued packets in user space.

This machine's kernel (and CI's) has no sch_netem, but it has NFQUEUE. An
iptables rule sends a namespace's outgoing packets to queue N; this program,
run inside that namespace, holds each one for ``delay ± jitter`` seconds
(uniform, like netem's jitter, so packets may be reordered) and drops a
``loss`` fraction, then gives the kernel its verdict. It speaks the netlink
protocol of nfnetlink_queue directly (no C library needed).

    python link_delay.py QUEUE DELAY JITTER LOSS      # e.g. 7 0.2 0.05 0.05

It prints "ready" once the kernel has acknowledged the bind to the queue (else it
exits with the kernel's error), and runs until SIGTERM. The iptables rule does not
use --queue-bypass: if this program dies, the link goes dead rather than quietly
fast, and the test that wanted a slow link sees it.
"""

from __future__ import annotations

import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _message(msg_type: int, queue: int, attrs: bytes, seq: int,
             flags: int = NLM_F_REQUEST) -> bytes:
    nfgen = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue))
    body = nfgen + attrs
    header = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type,
                         flags, seq, 0)
    return header + body


def _await_acks(sock: socket.socket, seqs: set[int], timeout: float = 5.0) -> None:
    """Wait until the kernel acknowledged each request in ``seqs``; raise its error."""
    deadline = time.monotonic() + timeout
    while seqs:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise TimeoutError(f"no acknowledgement of the queue bind (requests {seqs})")
        data = sock.recv(1 << 16)
        offset = 0
        while offset + 20 <= len(data):
            length, msg_type, _flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
            if length < 16:
                break
            if msg_type == NLMSG_ERROR:
                (error,) = struct.unpack_from("=i", data, offset + 16)
                if error:
                    raise OSError(-error, f"binding NFQUEUE: {os.strerror(-error)}")
                seqs.discard(seq)
            offset += (length + 3) & ~3


def _packet_ids(data: bytes) -> list[int]:
    ids: list[int] = []
    offset = 0
    while offset + 16 <= len(data):
        length, msg_type, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            break
        if msg_type == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, offset + 16)
            if error:
                raise OSError(-error, os.strerror(-error))
        elif msg_type & 0xFF == NFQNL_MSG_PACKET:
            pos = offset + 16 + 4  # after nlmsghdr and nfgenmsg
            while pos + 4 <= offset + length:
                alen, akind = struct.unpack_from("=HH", data, pos)
                if alen < 4:
                    break
                if akind & 0x7FFF == NFQA_PACKET_HDR:
                    ids.append(struct.unpack_from("!I", data, pos + 4)[0])
                pos += (alen + 3) & ~3
        offset += (length + 3) & ~3
    return ids


def main(queue: int, delay: float, jitter: float, loss: float) -> None:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    bind = _attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0))
    params = _attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
    acked = NLM_F_REQUEST | NLM_F_ACK
    sock.send(_message(NFQNL_MSG_CONFIG, queue, bind, 1, acked))
    sock.send(_message(NFQNL_MSG_CONFIG, queue, params, 2, acked))
    _await_acks(sock, {1, 2})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    due: list[tuple[float, int, int]] = []  # (when, packet id, verdict)
    seq = 3
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        readable, _, _ = select.select([sock], [], [], timeout)
        if readable:
            now = time.monotonic()
            for packet_id in _packet_ids(sock.recv(1 << 16)):
                verdict = NF_DROP if random.random() < loss else NF_ACCEPT
                wait = max(0.0, random.uniform(delay - jitter, delay + jitter))
                heapq.heappush(due, (now + wait, packet_id, verdict))
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, packet_id, verdict = heapq.heappop(due)
            seq += 1
            hdr = _attr(NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id))
            sock.send(_message(NFQNL_MSG_VERDICT, queue, hdr, seq))


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
