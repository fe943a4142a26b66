"""DHT rendezvous through a node that is not a registry, and periodic re-advertisement."""

import trio
from registry_process import RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, running_node
from domain import PerfInd, ServiceInfo, psk_from_passphrase
from domain.rendezvous import rendezvous_multihash
from entrypoints import library

PASSPHRASE = "rendezvous test"
INFO = ServiceInfo(content_hash="QmR", network_hard_req=PerfInd.from_millis(5))
KEY = rendezvous_multihash("registry-service")


async def _records_at(node, peer_id: str, timeout: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``node`` holds a provider record of ``peer_id``."""
    started = trio.current_time()
    with trio.fail_after(timeout):
        while peer_id not in {str(p.peer_id) for p in node.dht.provider_store.get_providers(KEY)}:
            await trio.sleep(0.05)
    return trio.current_time() - started


async def test_registry_is_found_through_a_plain_dht_node_and_re_advertises(tmp_path):
    psk = psk_from_passphrase(PASSPHRASE)
    settings = NodeSettings(key_pair=ephemeral_identity(), psk=psk,
                            listen=["/ip4/127.0.0.1/tcp/0"])
    async with running_node(settings) as dht_node:
        boot = dht_node.full_addrs()[0]
        registry = RegistryProcess(tmp_path / "r", passphrase=PASSPHRASE, bootstraps=[boot],
                                   extra_args=["--advertise-interval", "2"])
        await trio.to_thread.run_sync(registry.start)
        try:
            registry_id = registry.addrs[0].rsplit("/", 1)[1]
            await _records_at(dht_node, registry_id, timeout=10)
            await library.add_service(registry.addrs, psk, "svc", INFO)
            # The client knows only the plain DHT node: the provider record leads on.
            assert await library.get_service([boot], psk, "svc") == INFO

            # Records expire (py-libp2p keeps them 48 h, go-libp2p 48 h too); drop
            # them while the connection stays up: only a periodic re-advertisement
            # can put the record back.
            dht_node.dht.provider_store.providers.clear()
            assert not dht_node.dht.provider_store.get_providers(KEY)
            back_after = await _records_at(dht_node, registry_id, timeout=10)
            assert back_after <= 2 + 6  # the interval, plus slack for a busy machine
            assert await library.get_service([boot], psk, "svc") == INFO
        finally:
            await trio.to_thread.run_sync(registry.stop)
