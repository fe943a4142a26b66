"""Client-side use cases: the four registry operations over a RegistryTransport."""

from __future__ import annotations

from application.ports import RegistryTransport
from domain.service_info import ServiceInfo, decode_service_info, encode_service_info
from domain.service_name import validate_service_name
from domain.wire import (
    MAX_REQUEST_BYTES,
    AddRequest,
    GetResponse,
    ListResponse,
    Operation,
    decode,
    encode,
)


class RequestTooLarge(ValueError):
    """A request the registry-service would refuse for its size."""


class ServiceNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no service named {name!r} in the registry")
        self.name = name


def _checked(payload: bytes) -> bytes:
    if len(payload) > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            f"request is {len(payload)} bytes; registry-service accepts at most "
            f"{MAX_REQUEST_BYTES}"
        )
    return payload


async def add_service(transport: RegistryTransport, name: str, info: ServiceInfo) -> str:
    """Store ``info`` under ``name``; returns the server's ``Added {...}`` text."""
    validate_service_name(name)
    payload = encode(AddRequest(name=name, info_str=encode_service_info(info)))
    reply = await transport.request(Operation.ADD.protocol_id, _checked(payload))
    return reply.decode("utf-8", "replace")


async def get_service(transport: RegistryTransport, query: str) -> ServiceInfo:
    validate_service_name(query)
    reply = await transport.request(Operation.GET.protocol_id, _checked(query.encode()))
    response = decode(reply, GetResponse)
    if not response.lookup_ok:
        raise ServiceNotFound(query)
    return decode_service_info(response.info_str)


async def list_services(transport: RegistryTransport) -> dict[str, ServiceInfo]:
    reply = await transport.request(Operation.LIST.protocol_id, b"")
    response = decode(reply, ListResponse)
    if not response.lookup_ok or not response.name_to_info_str:
        return {}
    return {
        name: decode_service_info(info_str)
        for name, info_str in sorted(response.name_to_info_str.items())
    }


async def delete_service(transport: RegistryTransport, name: str) -> str:
    """Returns the server's text; raises ServiceNotFound when nothing was deleted."""
    validate_service_name(name)
    reply = await transport.request(Operation.DELETE.protocol_id, _checked(name.encode()))
    text = reply.decode("utf-8", "replace")
    if text.startswith("Error:"):
        raise ServiceNotFound(name)
    return text
