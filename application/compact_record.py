"""A record as a registry view keeps it: small, and a ServiceInfo again in a microsecond.

A readable InfoStr is kept as its ServiceInfo fields packed positionally (msgpack, no
field names): about half the JSON's size for a typical record. Fields a newer writer
may have added are dropped (ServiceInfo ignores them on decoding anyway). An InfoStr
that is not ServiceInfo JSON is kept as it is, so that a lookup can say why.
"""

from __future__ import annotations

import msgspec

from application.client import UnreadableRecord
from domain.service_info import (
    InvalidServiceInfo,
    PerfInd,
    ServiceInfo,
    decode_service_info,
)

Stored = bytes | str  # packed fields, or an unreadable InfoStr verbatim


class _Packed(msgspec.Struct, array_like=True):
    content_hash: str
    docker_hash: str
    soft_rtt: int
    hard_rtt: int
    cpu_req: int
    memory_req: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Packed)


def pack(info_str: str) -> Stored:
    try:
        info = decode_service_info(info_str)
    except InvalidServiceInfo:
        return info_str
    return _encoder.encode(_Packed(
        info.content_hash, info.docker_hash, info.network_soft_req.rtt,
        info.network_hard_req.rtt, info.cpu_req, info.memory_req,
    ))


def unpack(name: str, stored: Stored) -> ServiceInfo:
    """The record; UnreadableRecord (as get_service) if it was not ServiceInfo JSON."""
    if isinstance(stored, str):
        try:
            return decode_service_info(stored)
        except InvalidServiceInfo as exc:
            raise UnreadableRecord(name, str(exc)) from None
    p = _decoder.decode(stored)
    return ServiceInfo(
        content_hash=p.content_hash, docker_hash=p.docker_hash,
        network_soft_req=PerfInd(rtt=p.soft_rtt), network_hard_req=PerfInd(rtt=p.hard_rtt),
        cpu_req=p.cpu_req, memory_req=p.memory_req,
    )


def content_hash(stored: Stored | None) -> str | None:
    """The record's ContentHash; an unreadable one counts as its own text."""
    if stored is None or isinstance(stored, str):
        return stored
    return _decoder.decode(stored).content_hash
