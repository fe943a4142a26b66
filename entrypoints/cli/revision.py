"""registry-cli's revision calls: `get` with the record's revision, `delete --if-revision`."""

from __future__ import annotations

from application import client as use_cases
from application import conditional_client
from application.ports import ProtocolNotSpoken, RegistryTransport
from domain.service_info import ServiceInfo
from entrypoints.library.client_node import Bootstraps, _with_client


async def get_with_revision(
    bootstraps: Bootstraps, psk: bytes | None, name: str, *,
    keyfile: str | None = None, instance: str | None = None,
) -> tuple[ServiceInfo, int | None]:
    """(record, revision) over `/get/0.2`; a Go instance answers `/get/0.1`: revision None."""

    async def ask(client: RegistryTransport) -> tuple[ServiceInfo, int | None]:
        try:
            return await conditional_client.get_service_revision(client, name)
        except ProtocolNotSpoken:
            return await use_cases.get_service(client, name), None

    return await _with_client(bootstraps, psk, ask, keyfile, instance)  # type: ignore[no-any-return]


async def delete_if(
    bootstraps: Bootstraps, psk: bytes | None, name: str, revision: int, *,
    keyfile: str | None = None, instance: str | None = None,
) -> int:
    return await _with_client(  # type: ignore[no-any-return]
        bootstraps, psk, lambda c: conditional_client.delete_service_if(c, name, revision),
        keyfile, instance,
    )
