"""No --bootstrap and no P2P_BOOTSTRAPS: look for registry-service instances by mDNS.

Imported only then, so that a client given its bootstraps never opens the mDNS socket
(and a cold `registry-cli get --bootstrap ...` pays nothing for it).
"""

from __future__ import annotations

from adapters.libp2p.mdns_browser import find_peers
from adapters.libp2p.mdns_socket import MdnsUnavailable
from domain.bootstrap import BootstrapAddress, InvalidBootstrapAddress

MDNS_WAIT = 2.0  # seconds; an instance on the LAN answers in well under this
HOW_TO_FIX = ("give one with --bootstrap (or P2P_BOOTSTRAPS), or start registry-service "
              "with --mdns on this LAN")


async def bootstraps_on_the_lan(
    timeout: float = MDNS_WAIT, wanted: str | None = None
) -> list[BootstrapAddress]:
    """The peers that answered mDNS within ``timeout``; InvalidBootstrapAddress if none.

    ``wanted``: a peer id to wait for (--instance), rather than the first answer.
    """
    try:
        found = await find_peers(timeout, wanted=wanted)
    except (MdnsUnavailable, OSError) as exc:
        raise InvalidBootstrapAddress(
            f"no bootstrap peer given, and mDNS cannot look on the LAN ({exc}): {HOW_TO_FIX}"
        ) from None
    if not found:
        raise InvalidBootstrapAddress(
            f"no bootstrap peer given, and no registry-service answered mDNS on the LAN "
            f"within {timeout:g} s: {HOW_TO_FIX}"
        )
    return found
