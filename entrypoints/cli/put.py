"""registry-cli put: register a record given in the Go JSON shape, optionally conditionally."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import trio
from cyclopts import Parameter

from application import conditional_client
from domain.config_errors import ConfigError
from domain.json_file import decode_json_file
from domain.service_info import ServiceInfo
from domain.wire import MAX_REQUEST_BYTES
from entrypoints.cli.output import json_text
from entrypoints.common.errors import EXIT_USAGE, single_error

_Injected = Parameter(parse=False)
_RECORD = msgspec.json.Decoder(ServiceInfo)


def put_command(
    service_name: str,
    file: Annotated[str, Parameter(allow_leading_hyphen=True)],
    /,
    *,
    if_absent: bool = False,
    if_revision: int | None = None,
    json_output: Annotated[bool, _Injected] = False,
    bootstraps: Annotated[list[str], _Injected],
    psk: Annotated[bytes | None, _Injected],
    keyfile: Annotated[str | None, _Injected] = None,
) -> int:
    """Register a record (a ServiceInfo in the Go JSON shape) for an image built elsewhere.

    Prints the record's new revision. A failed condition exits with code 6 and names the
    record's current revision.

    Parameters
    ----------
    service_name
        Name to register the record under.
    file
        JSON file holding the record, or '-' for standard input.
    if_absent
        Only if no record of that name exists.
    if_revision
        Only if the record is still at this revision (as `get` shows it).
    """
    if if_absent and if_revision is not None:
        raise ValueError("give --if-absent or --if-revision, not both")
    try:
        info_str = _read_record(file)
    except ConfigError as exc:  # the file, not the registry: no request was sent
        print(f"registry-cli put: {exc}", file=sys.stderr)
        return EXIT_USAGE
    condition = 0 if if_absent else if_revision

    async def put() -> int:
        from entrypoints.library.client_node import registry_client

        try:
            async with registry_client(bootstraps, psk, keyfile=keyfile) as client:
                return await conditional_client.add_service_if(
                    client, service_name, info_str, condition
                )
        except BaseExceptionGroup as group:
            raise single_error(group) from None

    revision = trio.run(put)
    print(json_text({"Name": service_name, "Revision": revision}) if json_output else revision)
    return 0


def _read_record(file: str) -> str:
    source = "<stdin>" if file == "-" else file
    try:
        raw = (sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1) if file == "-"
               else Path(file).read_bytes())
    except OSError as exc:
        raise ConfigError(source, f"cannot read the record: {exc.strerror or exc}") from exc
    if len(raw) > MAX_REQUEST_BYTES:
        raise ConfigError(source, f"larger than {MAX_REQUEST_BYTES} bytes")
    # Refuse what is not a ServiceInfo before sending it, pointing at the place to fix.
    decode_json_file(raw, _RECORD, source)
    # Compact, as Go's encoder writes it; unknown fields are kept as given.
    return msgspec.json.encode(msgspec.json.decode(raw)).decode()
