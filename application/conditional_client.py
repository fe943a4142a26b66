"""Client-side use cases over `/…/0.2`: records with their revisions, conditional writes."""

from __future__ import annotations

from application.client import (
    ServiceNotFound,
    UnreadableRecord,
    checked_size,
    warn_if_stale,
    write_explained,
)
from application.not_a_writer import not_a_writer
from application.ports import RegistryTransport
from domain.record_rules import InvalidRecord, decode_stored_record
from domain.revision_wire import (
    ADD_IF_PROTOCOL,
    DELETE_IF_PROTOCOL,
    GET_REVISION_PROTOCOL,
    AddIfRequest,
    DeleteIfRequest,
    GetRevisionResponse,
    WriteResult,
)
from domain.service_info import InvalidServiceInfo, ServiceInfo, encode_service_info
from domain.service_name import validate_service_name
from domain.wire import decode, encode
from domain.write_refusal import is_not_a_writer


class RevisionConflict(RuntimeError):
    """A conditional write found the record at another revision; nothing was written."""

    def __init__(self, message: str, current_revision: int) -> None:
        super().__init__(message)
        self.current_revision = current_revision


async def get_service_revision(
    transport: RegistryTransport, query: str
) -> tuple[ServiceInfo, int]:
    """The record and its mod revision (what ``if_revision`` compares with)."""
    info_str, revision = await get_info_str_revision(transport, query)
    try:
        return decode_stored_record(info_str), revision
    except InvalidServiceInfo as exc:
        raise UnreadableRecord(query, str(exc)) from exc


async def get_info_str_revision(transport: RegistryTransport, query: str) -> tuple[str, int]:
    validate_service_name(query)
    reply = await transport.request(GET_REVISION_PROTOCOL, checked_size(query.encode()))
    response = decode(reply, GetRevisionResponse)
    warn_if_stale(response.stale)
    if not response.lookup_ok:
        raise ServiceNotFound(query)
    return response.info_str, response.revision


async def add_service_if(
    transport: RegistryTransport, name: str, info: ServiceInfo | str, if_revision: int | None
) -> int:
    """Store the record (a ServiceInfo or its InfoStr) if the condition holds; its new revision.

    ``if_revision``: None = always, 0 = only if absent, N = only if still at revision N.
    """
    validate_service_name(name)
    info_str = info if isinstance(info, str) else encode_service_info(info)
    payload = encode(AddIfRequest(name=name, info_str=info_str, if_revision=if_revision))
    reply = await write_explained(transport, ADD_IF_PROTOCOL, checked_size(payload), name)
    return _outcome(decode(reply, WriteResult)).revision


async def delete_service_if(
    transport: RegistryTransport, name: str, if_revision: int | None
) -> int:
    """Delete if the condition holds; the delete's revision. ServiceNotFound if nothing was."""
    validate_service_name(name)
    payload = encode(DeleteIfRequest(name=name, if_revision=if_revision))
    reply = await write_explained(transport, DELETE_IF_PROTOCOL, checked_size(payload), name)
    result = _outcome(decode(reply, WriteResult))
    if not result.deleted:
        raise ServiceNotFound(name)
    return result.revision


def _outcome(result: WriteResult) -> WriteResult:
    if result.refused:
        if is_not_a_writer(result.error):
            raise not_a_writer(result.error)
        raise InvalidRecord(result.error.removeprefix("Error: "))
    if not result.ok:
        raise RevisionConflict(
            result.error or f"condition failed; the current revision is {result.revision}",
            result.revision,
        )
    return result
