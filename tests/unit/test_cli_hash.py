"""``registry-cli hash FILE``: prints the CID, ``-`` reads stdin, errors without traceback."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from entrypoints.cli.hash import hash_command

KNOWN_TEXT = b"Ivan, Michael, Andrew, Henry, and Thomas are pretty cool eh\n"
KNOWN_CID = "QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn"


def test_prints_the_cid_of_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "known.txt"
    path.write_bytes(KNOWN_TEXT)
    assert hash_command(str(path)) == 0
    out, err = capsys.readouterr()
    assert out == KNOWN_CID + "\n"
    assert err == ""


def test_dash_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(KNOWN_TEXT)))
    assert hash_command("-") == 0
    assert capsys.readouterr().out == KNOWN_CID + "\n"


@pytest.mark.parametrize("name", ["absent.tar", "."])
def test_unreadable_path_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / name
    assert hash_command(str(path)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"registry-cli hash: cannot read {path}: ")
    assert "Traceback" not in err
    assert err.count("\n") == 1
