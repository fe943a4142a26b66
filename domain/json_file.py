"""Decode a JSON file people wrote into a Struct; errors point at file, line and column.

Shared by the files our CLIs read (the service config of `add`, the record of `put`):
msgspec names the place of a type error as a path (``$.CpuReq``) and of a syntax error
as a byte offset; both become ``FILE:LINE:COLUMN: message`` with the line and a caret.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from domain.config_errors import ConfigError, PathStep, config_error_at, locate, parse_msgspec_path

T = TypeVar("T")

_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)")
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")
_BOM = "\ufeff"


def decode_json_file(
    data: bytes,
    decoder: msgspec.json.Decoder[T],
    source: str,
    *,
    known_fields: dict[str, str] | None = None,
) -> tuple[T, str]:
    """The decoded value and the file's text; ConfigError pointing into ``data`` if bad.

    ``known_fields`` maps lower-cased field names to their spelling, for the hint on an
    unknown field that differs only in case.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", "replace")
        raise config_error_at(source, prefix, len(prefix), "file is not UTF-8 text") from exc
    if text.startswith(_BOM):  # some editors add one; JSON parsers refuse it
        text = text[1:]
        data = text.encode("utf-8")
    if not text.strip():
        raise ConfigError(source, "file is empty; expected a JSON object")
    try:
        return decoder.decode(data), text
    except msgspec.ValidationError as exc:
        raise _validation_error(source, text, str(exc), known_fields or {}) from exc
    except msgspec.DecodeError as exc:
        raise _syntax_error(source, data, text, str(exc)) from exc


def _syntax_error(source: str, data: bytes, text: str, message: str) -> ConfigError:
    match = _BYTE_OFFSET.search(message)
    if match:
        offset = len(data[: int(match.group(1))].decode("utf-8", "replace"))
        message = _BYTE_OFFSET.sub("", message).rstrip()
    else:  # "Input data was truncated": the problem is at the very end
        offset = len(text.rstrip())
    return config_error_at(source, text, offset, f"invalid JSON: {message}")


def _validation_error(
    source: str, text: str, message: str, known_fields: dict[str, str]
) -> ConfigError:
    match = _AT_PATH.search(message)
    path: list[PathStep] = parse_msgspec_path(match.group(1)) if match else []
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown is None:
        return config_error_at(source, text, locate(text, path), message)
    name = unknown.group(1)
    hint = ""
    known = known_fields.get(name.lower())
    if known is not None and known != name:
        hint = f" (field names are case-sensitive: did you mean `{known}`?)"
    return config_error_at(source, text, locate(text, path, key=name), message + hint)
