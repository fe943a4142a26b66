"""`registry-cli put` blames a bad record file, not the registry-service (issue 26)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from entrypoints.cli.main import main

EXIT_USAGE = 2


def _put(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["put", "svc", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "place", "rule"),
    [
        ('{\n  "CpuReq": 1.5\n}', ":2:13:", "Expected `int`, got `float` - at `$.CpuReq`"),
        ("[1, 2]", ":1:1:", "Expected `object`, got `array`"),
        ('{\n  "CpuReq": 1,\n  oops\n}', ":3:3:", "invalid JSON"),
    ],
)
def test_a_bad_record_names_file_line_column_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, place: str, rule: str
) -> None:
    record = tmp_path / "record.json"
    record.write_text(text)
    code, err = _put(capsys, str(record))
    assert code == EXIT_USAGE
    assert f"registry-cli put: {record}{place}" in err
    assert rule in err
    assert "^" in err  # the caret under the place
    assert "registry-service" not in err


def test_a_missing_record_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _put(capsys, str(tmp_path / "nosuch.json"))
    assert code == EXIT_USAGE
    assert "nosuch.json: cannot read the record: No such file or directory" in err
    assert "Errno" not in err


def test_empty_stdin_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, err = _put(capsys, "-")
    assert code == EXIT_USAGE
    assert "<stdin>: file is empty; expected a JSON object" in err
