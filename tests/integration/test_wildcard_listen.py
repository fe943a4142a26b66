"""README: a wildcard listen address is advertised as the interface addresses.

The daemon listens on /ip4/0.0.0.0 inside a network namespace of its own (lo and eth0,
10.77.0.1): the only place a wildcard listener can be tested without opening the host.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from netns_fixtures import netns_lab
from partition_cluster import NetnsRegistryProcess

PASSPHRASE = "wildcard test passphrase"

# A DHT client in the namespace: the addresses the registry-service's provider record
# and identify carry, as another peer learns them.
_FIND = """
import json, sys, trio
from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from domain import parse_bootstrap, psk_from_passphrase
from domain.rendezvous import REGISTRY_RENDEZVOUS

async def main():
    settings = NodeSettings(ephemeral_identity(), psk=psk_from_passphrase(sys.argv[1]),
                            dht_server=False)
    async with running_node(settings) as node:
        assert not await connect_bootstraps(node, [parse_bootstrap(sys.argv[2])], 10)
        found = await node.rendezvous.find_peers(REGISTRY_RENDEZVOUS)
        print(json.dumps({str(p.peer_id): [str(a) for a in p.addrs] for p in found}))

trio.run(main)
"""


@dataclass
class WildcardProcess(NetnsRegistryProcess):
    def argv(self) -> list[str]:
        argv = super().argv()
        at = argv.index("--listen") + 1
        argv[at] = f"/ip4/0.0.0.0/tcp/{self.listen_port}"
        return argv


def test_a_wildcard_listen_address_is_advertised_as_the_interface_addresses(
    tmp_path: Path,
) -> None:
    with netns_lab(1) as lab:
        [node] = lab.nodes
        proc = WildcardProcess(tmp_path / "r", passphrase=PASSPHRASE, ip=node.ip,
                               listen_port=4001, etcd_client_port=2379, etcd_peer_port=2380,
                               prom_port=9102, netns=node.netns)
        proc.start(timeout=60)
        try:
            assert "--listen" in proc.argv() and "/ip4/0.0.0.0/tcp/4001" in proc.argv()
            written = [a.rsplit("/p2p/", 1)[0] for a in proc.addrs]
            assert sorted(written) == [f"/ip4/{node.ip}/tcp/4001", "/ip4/127.0.0.1/tcp/4001"]
            peer_id = proc.addrs[0].rsplit("/", 1)[1]
            found = node.run(sys.executable, "-c", _FIND, PASSPHRASE,
                             f"/ip4/{node.ip}/tcp/4001/p2p/{peer_id}",
                             cwd=Path(__file__).parents[2], timeout=60)
            advertised = json.loads(found.stdout)[peer_id]
            assert advertised, found.stdout
            assert not [a for a in advertised if "0.0.0.0" in a], advertised
            assert f"/ip4/{node.ip}/tcp/4001" in [a.split("/p2p/")[0] for a in advertised]
        finally:
            proc.stop()
