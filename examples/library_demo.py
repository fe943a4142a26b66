"""Add, get, list and delete a service with the library (trio), then the same blocking.

Usage: python examples/library_demo.py BOOTSTRAP_MULTIADDR
The passphrase comes from the file named by P2P_PSK_FILE (never from the command line);
REGISTRY_CLI_KEYFILE names this client's key file when the registry has a writers list.
"""

import os
import sys

import trio

from domain import PerfInd, ServiceInfo, psk_from_passphrase
from entrypoints import library


def passphrase() -> str:
    with open(os.environ["P2P_PSK_FILE"]) as file:
        return file.read().removesuffix("\n")


async def main(bootstrap: str, psk: bytes, keyfile: str | None) -> None:
    info = ServiceInfo(
        content_hash="QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn",
        docker_hash="127.0.0.1:5000/demo/hello@sha256:" + "0" * 64,
        network_soft_req=PerfInd.from_millis(100),  # configs speak ms; the wire carries ns
        network_hard_req=PerfInd.from_millis(300),
        cpu_req=1,
        memory_req=64,
    )
    print(await library.add_service([bootstrap], psk, "hello-service", info, keyfile=keyfile))
    print(await library.get_service([bootstrap], psk, "hello-service"))
    print(sorted(await library.list_services([bootstrap], psk)))


if __name__ == "__main__":
    PSK = psk_from_passphrase(passphrase())
    trio.run(main, sys.argv[1], PSK, os.environ.get("REGISTRY_CLI_KEYFILE"))
    # Plain scripts need no event loop of their own:
    print(library.get_service_blocking([sys.argv[1]], PSK, "hello-service").docker_hash)
