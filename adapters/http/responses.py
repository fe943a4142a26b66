"""JSON answers and JSON errors (``{"Error": "..."}``), never a traceback."""

from __future__ import annotations

import msgspec
from starlette.responses import Response

_encode = msgspec.json.Encoder().encode


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(_encode(body), status, headers, media_type="application/json")


def raw_json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status, headers, media_type="application/json")


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: object
) -> Response:
    return json_response({"Error": message, **extra}, status, headers)
