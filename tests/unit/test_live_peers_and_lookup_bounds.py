"""The figures README gives for reaching an instance, on trio's virtual clock (exact,
however busy the machine): the next bootstrap is dialled when one has not connected
within 0.25 s or failed, and the DHT lookup for providers lasts at most 3 s."""

import pytest
import trio

from adapters.libp2p.live_peers import STAGGER, connect_first
from adapters.libp2p.registry_client import Libp2pRegistryClient
from application.ports import NoProvider


async def _dial(peer: str) -> None:
    if peer == "blackholed":
        await trio.sleep_forever()
    if peer == "refused":
        raise ConnectionRefusedError("refused")


async def test_an_unresponsive_bootstrap_holds_the_next_dial_up_for_0_25_s(
    autojump_clock: trio.abc.Clock,
) -> None:
    assert STAGGER == 0.25  # the figure README states
    started = trio.current_time()
    connected = await connect_first(["blackholed", "live"], _dial, timeout=5)
    assert connected.live == ["live"]
    assert trio.current_time() - started == pytest.approx(0.25)


async def test_a_refused_bootstrap_hands_over_at_once(autojump_clock: trio.abc.Clock) -> None:
    started = trio.current_time()
    connected = await connect_first(["refused", "blackholed", "live"], _dial, timeout=5)
    assert connected.live == ["live"]
    assert list(connected.failures) == ["refused"]
    assert trio.current_time() - started == pytest.approx(0.25)  # only the blackholed one


class _NoNetwork:
    connections: dict[object, object] = {}

    def get_network(self) -> "_NoNetwork":
        return self


class _HangingDht:
    async def find_peers(self, namespace: str, limit: int = 20) -> list[object]:
        await trio.sleep_forever()
        return []


async def test_the_dht_lookup_gives_up_after_3_s(autojump_clock: trio.abc.Clock) -> None:
    client = Libp2pRegistryClient(_NoNetwork(), _HangingDht(), attempts=1)  # type: ignore[arg-type]
    started = trio.current_time()
    with pytest.raises(NoProvider, match="DHT lookup failed"):
        await client.request("/get/0.1", b"x")
    assert trio.current_time() - started == pytest.approx(3.0)
