"""Errors in a service config file, pointing at the line and column to fix.

msgspec reports validation errors by path (``$.DockerConf.Copy[0][1]``) but
people fix files by line and column; ``locate`` walks the (already valid) text
to turn one into the other. It only needs to understand valid JSON, because it
runs after a successful parse.
"""

from __future__ import annotations

import json
import re


class ConfigError(ValueError):
    """A service config that cannot be used; ``str()`` is the message for people.

    ``line`` and ``column`` are 1-based (column counts characters, not bytes);
    they are 0 when the problem has no place in the file (e.g. it is empty).
    """

    def __init__(
        self, source: str, message: str, *, line: int = 0, column: int = 0, line_text: str = ""
    ) -> None:
        self.source = source
        self.message = message
        self.line = line
        self.column = column
        self.line_text = line_text
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line <= 0:
            return f"{self.source}: {self.message}"
        caret = " " * (self.column - 1) + "^"
        return (
            f"{self.source}:{self.line}:{self.column}: {self.message}\n"
            f"    {self.line_text}\n"
            f"    {caret}"
        )


def position_of(text: str, offset: int) -> tuple[int, int, str]:
    """(line, column, text of that line) of a character offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    if line_end < 0:
        line_end = len(text)
    line = text.count("\n", 0, offset) + 1
    # Tabs would shift the caret; show them as single spaces so it stays aligned.
    line_text = text[line_start:line_end].rstrip("\r").replace("\t", " ")
    return line, offset - line_start + 1, line_text


def config_error_at(source: str, text: str, offset: int, message: str) -> ConfigError:
    line, column, line_text = position_of(text, offset)
    return ConfigError(source, message, line=line, column=column, line_text=line_text)


PathStep = str | int

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_JSON = json.JSONDecoder()
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def parse_msgspec_path(path: str) -> list[PathStep]:
    """``$.A.B[2]`` -> ``["A", "B", 2]`` (msgspec's path notation)."""
    if not path.startswith("$"):
        raise ValueError(f"not a msgspec path: {path!r}")
    steps: list[PathStep] = []
    for match in _PATH_STEP.finditer(path, 1):
        key, index = match.groups()
        steps.append(key if key is not None else int(index))
    return steps


def _skip_ws(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _read_value(text: str, pos: int) -> tuple[object, int]:
    """The value starting at ``pos`` and the offset just past it."""
    return _JSON.raw_decode(text, pos)


def locate(text: str, path: list[PathStep], key: str | None = None) -> int:
    """Offset of the value at ``path``; with ``key``, of that key inside the object there.

    Falls back to the deepest position reached when the path does not exist.
    """
    pos = _skip_ws(text, 0)
    steps: list[PathStep] = [*path, key] if key is not None else list(path)
    for depth, step in enumerate(steps):
        want_key_itself = key is not None and depth == len(steps) - 1
        if isinstance(step, str):
            if text[pos] != "{":
                return pos
            found = _find_member(text, pos, step, want_key_itself)
        else:
            if text[pos] != "[":
                return pos
            found = _find_element(text, pos, step)
        if found is None:
            return pos
        pos = found
    return pos


def _find_member(text: str, pos: int, name: str, want_key: bool) -> int | None:
    pos = _skip_ws(text, pos + 1)
    while text[pos] != "}":
        key_start = pos
        member, pos = _read_value(text, pos)
        pos = _skip_ws(text, pos)
        value_start = _skip_ws(text, pos + 1)
        if member == name:
            return key_start if want_key else value_start
        pos = _skip_ws(text, _read_value(text, value_start)[1])
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return None


def _find_element(text: str, pos: int, index: int) -> int | None:
    pos = _skip_ws(text, pos + 1)
    current = 0
    while text[pos] != "]":
        if current == index:
            return pos
        pos = _skip_ws(text, _read_value(text, pos)[1])
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        current += 1
    return None
