"""Run inside a namespace: look for peers by mDNS, and optionally get a record, timed.

    mdns_find.py find                 -> {"found": [...], "lookup_s": s}
    mdns_find.py get PASSPHRASE NAME  -> {"found": [...], "lookup_s", "total_s", "record"}
    mdns_find.py put PASSPHRASE NAME CONTENT_HASH -> {"answer": ...}
    mdns_find.py raw                  -> junk, 51 queries; every answer heard in 1 s
    mdns_find.py listen IP SECONDS    -> asks nothing; the first answer from IP, if any
"""

from __future__ import annotations

import json
import sys
import time

import trio

from adapters.libp2p.mdns_browser import find_peers
from adapters.libp2p.mdns_wire import peers_in_response
from domain.psk import psk_from_passphrase
from domain.service_info import ServiceInfo, encode_service_info
from entrypoints import library
from entrypoints.library.lan_bootstraps import MDNS_WAIT


async def raw_answers(listen: float) -> dict:
    """One query; then each answer's records as text (what anyone on the LAN can see)."""
    import dns.message

    from adapters.libp2p.mdns_socket import open_mdns_socket, send_to_group
    from adapters.libp2p.mdns_wire import query

    answers = []
    flood_s = 0.0
    sock = await open_mdns_socket()
    with sock, trio.move_on_after(listen):
        # Junk first (random bytes, a cut-off query, a flood): the answer must still come.
        for junk in (b"", b"\xff" * 12, query()[:-3], bytes(range(256)) * 4):
            await send_to_group(sock, junk)
        flood_started = trio.current_time()
        for _ in range(50):
            await send_to_group(sock, query())
        flood_s = trio.current_time() - flood_started
        await trio.sleep(0.2)  # past the announcer's 100 ms between multicast answers
        await send_to_group(sock, query())
        while True:
            data, source = await sock.recvfrom(9000)
            try:
                message = dns.message.from_wire(data)
            except Exception:  # our own junk, looped back
                continue
            if message.answer or message.additional:
                answers.append({"from": source[0], "records": [
                    line for section in (message.answer, message.additional)
                    for rrset in section for line in rrset.to_text().splitlines()]})
    return {"answers": answers, "flood_s": flood_s}


async def listen_for(source_ip: str, seconds: float) -> dict:
    """Send nothing; the first answer from ``source_ip`` within ``seconds``, if any."""
    from adapters.libp2p.mdns_socket import open_mdns_socket

    sock = await open_mdns_socket()
    print(json.dumps({"listening": True}), flush=True)
    with sock, trio.move_on_after(seconds):
        while True:
            data, source = await sock.recvfrom(9000)
            if source[0] == source_ip and peers_in_response(data):
                return {"heard": [str(a) for a in peers_in_response(data)]}
    return {"heard": []}


async def main(argv: list[str]) -> dict:
    if argv[0] == "listen":
        return await listen_for(argv[1], float(argv[2]))
    if argv[0] == "raw":
        return await raw_answers(1.0)
    if argv[0] == "find":
        started = time.monotonic()
        found = await find_peers(MDNS_WAIT, first=False)
        return {"found": [str(a) for a in found], "lookup_s": time.monotonic() - started}
    passphrase, name = argv[1], argv[2]
    if argv[0] == "put":
        info = ServiceInfo(content_hash=argv[3], cpu_req=1)
        return {"answer": await library.add_service([], psk_from_passphrase(passphrase), name,
                                                    info)}
    started = time.monotonic()
    found = await find_peers(MDNS_WAIT)
    looked = time.monotonic()
    # What registry-cli does with no --bootstrap: the library looks by mDNS itself.
    info = await library.get_service([], psk_from_passphrase(passphrase), name)
    return {"found": [str(a) for a in found], "lookup_s": looked - started,
            "total_s": time.monotonic() - looked,
            "record": json.loads(encode_service_info(info))}


if __name__ == "__main__":
    print(json.dumps(trio.run(main, sys.argv[1:])))
