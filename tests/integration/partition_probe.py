"""A registry client inside one namespace, driven over stdin/stdout (one JSON line each).

    ip netns exec NS python partition_probe.py PASSPHRASE BOOTSTRAP

One libp2p node stays up for the whole run, connected to BOOTSTRAP; every
request goes straight to that registry-service, without DHT discovery. So the
answer times measure what the *server* does during a partition (the client's
own discovery is tested separately, through registry-cli).

Commands: {"op": "put", "name": N, "value": V} | {"op": "get", "name": N}
Answers:  {"ok": bool, "seconds": float, "stale": bool, "value": V | null,
           "error": class name | null, "message": str}
A "value" is an integer kept in the record's content_hash, to compare versions.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any

import trio
from libp2p.peer.peerinfo import PeerInfo

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, peer_info_of, running_node
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application import client as use_cases
from application.ports import StaleReadWarning
from domain.bootstrap import parse_bootstraps
from domain.psk import psk_from_passphrase
from domain.service_info import ServiceInfo


class FixedProvider:
    """The bootstrap is the registry-service to ask; nothing to look up."""

    def __init__(self, info: PeerInfo) -> None:
        self._info = info

    async def find_peers(self, namespace: str, limit: int = 20) -> list[PeerInfo]:
        return [self._info]


async def one(client: Libp2pRegistryClient, command: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    answer: dict[str, Any] = {"ok": True, "stale": False, "value": None, "error": None,
                              "message": ""}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if command["op"] == "put":
                info = ServiceInfo(content_hash=str(command["value"]), docker_hash="partition")
                await use_cases.add_service(client, command["name"], info)
            else:
                try:
                    found = await use_cases.get_service(client, command["name"])
                    answer["value"] = int(found.content_hash)
                except use_cases.ServiceNotFound:
                    answer["value"] = None
        answer["stale"] = any(issubclass(w.category, StaleReadWarning) for w in caught)
    except Exception as exc:
        answer.update(ok=False, error=type(exc).__name__, message=str(exc).splitlines()[0][:300])
    answer["seconds"] = round(time.monotonic() - started, 4)
    return answer


async def main(passphrase: str, bootstrap: str) -> None:
    [address] = parse_bootstraps([bootstrap])
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(passphrase),
                            dht_server=False, graceful_close=False)
    async with running_node(settings) as node:
        failures = await connect_bootstraps(node, [address], 10.0)
        if failures:
            print(json.dumps({"ready": False, "message": str(failures)}), flush=True)
            return
        # One attempt, no back-off: the test wants this server's answer, or its failure.
        client = Libp2pRegistryClient(
            node.host, FixedProvider(peer_info_of(address)),  # type: ignore[arg-type]
            attempts=1, request_timeout=15.0,
        )
        print(json.dumps({"ready": True}), flush=True)
        while True:
            line = await trio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                return
            print(json.dumps(await one(client, json.loads(line))), flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])
