"""`registry-cli get` with the record's revision, from a registry-service that knows revisions."""

from __future__ import annotations

from application import client as use_cases
from application import conditional_client
from application.ports import RegistryTransport
from application.watch_ports import ProtocolNotSupported
from domain.service_info import ServiceInfo
from entrypoints.library import Bootstraps, _with_client


async def get_with_revision(
    bootstraps: Bootstraps, psk: bytes | None, name: str, *, keyfile: str | None = None
) -> tuple[ServiceInfo, int | None]:
    """(record, revision) over `/get/0.2`; a Go instance answers `/get/0.1`: revision None."""

    async def ask(client: RegistryTransport) -> tuple[ServiceInfo, int | None]:
        try:
            return await conditional_client.get_service_revision(client, name)
        except ProtocolNotSupported:
            return await use_cases.get_service(client, name), None

    return await _with_client(bootstraps, psk, ask, keyfile)  # type: ignore[no-any-return]
