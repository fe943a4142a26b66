"""Client-side use cases: the four registry operations over a RegistryTransport."""

from __future__ import annotations

import warnings

from application.not_a_writer import not_a_writer
from application.ports import NoQuorum, RegistryTransport, RequestRejected, StaleReadWarning
from domain.record_rules import InvalidRecord, check_service_info, decode_stored_record
from domain.service_info import (
    InvalidServiceInfo,
    ServiceInfo,
    encode_service_info,
)
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
from domain.write_refusal import is_invalid_record, is_not_a_writer


class RequestTooLarge(ValueError):
    """A request the registry-service would refuse for its size."""


class ServiceNotFound(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no service named {name!r} in the registry")
        self.name = name


class UnreadableRecord(InvalidServiceInfo):
    """A stored record this client cannot decode (a Go writer's or an older version's)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"the record stored for {name!r} is unreadable ({reason}); delete it or add it again"
        )
        self.name = name


class UnreadableRecordsWarning(UserWarning):
    """list skipped stored records it cannot decode; ``names`` says which."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(
            f"skipped {len(names)} unreadable record(s), not ServiceInfo JSON: {', '.join(names)}"
        )
        self.names = names


def checked_size(payload: bytes) -> bytes:
    if len(payload) > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            f"request is {len(payload)} bytes; registry-service accepts at most "
            f"{MAX_REQUEST_BYTES}"
        )
    return payload


async def add_service(transport: RegistryTransport, name: str, info: ServiceInfo) -> str:
    """Store ``info`` under ``name``; returns the server's ``Added {...}`` text."""
    validate_service_name(name)
    check_service_info(info)  # what the registry-service would refuse, refused here first
    payload = encode(AddRequest(name=name, info_str=encode_service_info(info)))
    reply = await write_explained(
        transport, Operation.ADD.protocol_id, checked_size(payload), name
    )
    text = reply.decode("utf-8", "replace")
    if is_invalid_record(text):
        raise InvalidRecord(text.removeprefix("Error: "))
    return text


async def get_service(transport: RegistryTransport, query: str) -> ServiceInfo:
    validate_service_name(query)
    reply = await transport.request(Operation.GET.protocol_id, checked_size(query.encode()))
    response = decode(reply, GetResponse)
    warn_if_stale(response.stale)
    if not response.lookup_ok:
        raise ServiceNotFound(query)
    try:
        return decode_stored_record(response.info_str)
    except InvalidServiceInfo as exc:
        raise UnreadableRecord(query, str(exc)) from exc


async def list_services(transport: RegistryTransport) -> dict[str, ServiceInfo]:
    reply = await transport.request(Operation.LIST.protocol_id, b"")
    response = decode(reply, ListResponse)
    warn_if_stale(response.stale)
    # One unreadable record (a Go writer's, an older version's) must not hide the rest.
    # A server of ours names those it left out; an older one hands them on, checked here.
    unreadable = list(response.unreadable or {})
    records: dict[str, ServiceInfo] = {}
    stored = response.name_to_info_str if response.lookup_ok else None
    for name, info_str in sorted((stored or {}).items()):
        try:
            records[name] = decode_stored_record(info_str)
        except InvalidServiceInfo:
            unreadable.append(name)
    if unreadable:
        warnings.warn(UnreadableRecordsWarning(sorted(unreadable)), stacklevel=2)
    return records


async def delete_service(transport: RegistryTransport, name: str) -> str:
    """Returns the server's text; raises ServiceNotFound when nothing was deleted."""
    validate_service_name(name)
    payload = checked_size(name.encode())
    reply = await write_explained(transport, Operation.DELETE.protocol_id, payload, name)
    text = reply.decode("utf-8", "replace")
    if text.startswith("Error:"):
        raise ServiceNotFound(name)
    return text


def warn_if_stale(stale: bool) -> None:
    if stale:
        warnings.warn(
            "the registry has no quorum right now: this answer comes from one instance's own "
            "copy and may be stale (miss the latest changes)",
            StaleReadWarning,
            stacklevel=3,
        )


async def write_explained(
    transport: RegistryTransport, protocol_id: str, payload: bytes, name: str
) -> bytes:
    try:
        reply = await transport.request(protocol_id, payload)
    except RequestRejected as exc:
        # A reset stream carries no reason. A read tells the commonest one: without
        # quorum a registry-service still answers it, marked stale.
        if await _read_is_stale(transport, name):
            raise NoQuorum(
                "the registry has no quorum: most of its registry-service instances (etcd "
                "members) are down, or a leader election is under way; writes are refused "
                "until a majority is back, reads still answer but may be stale"
            ) from exc
        raise
    text = reply.decode("utf-8", "replace")
    if is_not_a_writer(text):
        raise not_a_writer(text)
    return reply


async def _read_is_stale(transport: RegistryTransport, name: str) -> bool:
    try:
        reply = await transport.request(Operation.GET.protocol_id, name.encode())
        return decode(reply, GetResponse).stale
    except Exception:
        return False
