"""Which InfoStrs may be stored: only what a Go client can decode into ServiceInfo.

Go's ``encoding/json`` fills ``registry.ServiceInfo`` from any JSON object whose
strings sit where Go has ``string`` and whose numbers sit where Go has ``int``
or ``time.Duration`` (both int64): integer literals, no fraction, no exponent,
within int64. Anything else makes ``json.Unmarshal`` fail, for every Go and
Python reader, from then on; so the registry refuses it at the door.

Go matches field names case-insensitively (``cpureq`` fills ``CpuReq``) while
our decoder, like Go's encoder, uses the exact names. A key that matches a
field only by case would be read differently by the two, so it is refused.
Fields a newer client adds (unknown names) are kept, as Go ignores them.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from domain.service_info import InvalidServiceInfo, ServiceInfo, decode_service_info

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]


class InvalidRecord(ValueError):
    """An InfoStr a Go client could not decode into ServiceInfo (one line, names the field)."""


class _GoPerfInd(msgspec.Struct, rename={"rtt": "RTT"}, forbid_unknown_fields=False, gc=False):
    rtt: Int64 = 0


class _GoServiceInfo(msgspec.Struct, rename="pascal", forbid_unknown_fields=False, gc=False):
    content_hash: str = ""
    docker_hash: str = ""
    network_soft_req: _GoPerfInd = msgspec.field(default_factory=_GoPerfInd)
    network_hard_req: _GoPerfInd = msgspec.field(default_factory=_GoPerfInd)
    cpu_req: Int64 = 0
    memory_req: Int64 = 0


class _ExactGoPerfInd(_GoPerfInd, forbid_unknown_fields=True, gc=False):
    pass


class _ExactGoServiceInfo(_GoServiceInfo, forbid_unknown_fields=True, gc=False):
    """The usual record: only the exact field names. One decode proves it readable."""

    network_soft_req: _ExactGoPerfInd = msgspec.field(default_factory=_ExactGoPerfInd)
    network_hard_req: _ExactGoPerfInd = msgspec.field(default_factory=_ExactGoPerfInd)


_FIELDS = {f.encode_name: f for f in msgspec.structs.fields(_GoServiceInfo)}
_PERF_FIELDS = ("NetworkSoftReq", "NetworkHardReq")
_TOP_FIELDS = tuple(_FIELDS)
_EXACT = {_TOP_FIELDS: frozenset(_FIELDS), ("RTT",): frozenset(("RTT",))}
_exact = msgspec.json.Decoder(_ExactGoServiceInfo)
_typed = msgspec.json.Decoder(_GoServiceInfo)
_untyped = msgspec.json.Decoder()


def check_info_str(info_str: str) -> None:
    """Raise InvalidRecord unless Go (and we) can decode ``info_str`` into ServiceInfo."""
    try:
        # The usual record in one decode (a list checks every record); what this
        # accepts, the two decodes below accept too.
        _exact.decode(info_str)
        return
    except msgspec.DecodeError:  # ValidationError included
        pass  # unknown fields, or a broken record: the checks below decide and say why
    try:
        _typed.decode(info_str)
    except msgspec.ValidationError as exc:
        raise InvalidRecord(_plain(str(exc))) from exc
    except msgspec.DecodeError as exc:
        raise InvalidRecord(f"not valid JSON: {exc}") from exc
    # Valid for us; now the keys Go would read and we would not.
    top = _untyped.decode(info_str)
    _check_keys(top, _TOP_FIELDS, "$")
    for name in _PERF_FIELDS:
        _check_keys(top.get(name, {}), ("RTT",), f"$.{name}")


def _check_keys(obj: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    if obj.keys() <= _EXACT.get(fields, frozenset()):
        return  # only exact field names (the usual record): nothing to case-fold
    folded = {name.casefold(): name for name in fields}
    for key in obj:
        field = folded.get(key.casefold())
        if field is not None and field != key:
            raise InvalidRecord(
                f"key {key!r} at `{where}` differs from the field `{field}` only by case "
                "(Go would read it, other clients would not): use the exact field name"
            )


def _plain(message: str) -> str:
    """msgspec's message in the words a Go developer expects."""
    return (
        message.replace("`int` >= -9223372036854775808", "an integer within int64")
        .replace("`int` <= 9223372036854775807", "an integer within int64")
        .replace("Expected `int`, got `float`", "Expected an integer (Go int64), got a number "
                 "with a fraction or exponent")
        .replace("Expected `object`, got", "Expected a JSON object, got")
    )


def check_service_info(info: ServiceInfo) -> None:
    """Raise InvalidRecord, naming the field, if a number does not fit Go's int64."""
    numbers = {
        "NetworkSoftReq.RTT": info.network_soft_req.rtt,
        "NetworkHardReq.RTT": info.network_hard_req.rtt,
        "CpuReq": info.cpu_req,
        "MemoryReq": info.memory_req,
    }
    for field, value in numbers.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidRecord(f"{field} must be an integer (Go int64), got {value!r}")
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidRecord(f"{field} = {value} does not fit Go's int64")


def decode_stored_record(info_str: str) -> ServiceInfo:
    """A stored InfoStr read by the rules a write must pass: a record refused on write
    (say one restored from an older snapshot) raises InvalidServiceInfo on read too."""
    try:
        check_info_str(info_str)
    except InvalidRecord as exc:
        raise InvalidServiceInfo(str(exc)) from exc
    return decode_service_info(info_str)


def split_readable(entries: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(records a Go client can decode, {name: why not} for the others)."""
    readable: dict[str, str] = {}
    unreadable: dict[str, str] = {}
    for name, info_str in entries.items():
        try:
            check_info_str(info_str)
        except InvalidRecord as exc:
            unreadable[name] = str(exc)
        else:
            readable[name] = info_str
    return readable, unreadable
