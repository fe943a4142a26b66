"""--psk-file / P2P_PSK_FILE: the passphrase from a file, never from argv."""

import os
from pathlib import Path

import pytest

from application.write_policy import WriteRefused
from domain import psk_from_passphrase
from entrypoints.common.errors import EXIT_NOT_ALLOWED, exit_code_for, explain
from entrypoints.common.flags import LoosePskFileWarning, resolve_psk


def _secret(tmp_path: Path, text: str, mode: int = 0o600, name: str = "passphrase") -> Path:
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_the_file_holds_the_passphrase_without_its_line_break(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("P2P_PSK", raising=False)
    monkeypatch.delenv("P2P_PSK_FILE", raising=False)
    path = _secret(tmp_path, "our passphrase\n")
    assert resolve_psk(None, path) == psk_from_passphrase("our passphrase")
    two = _secret(tmp_path, " two\n\n", name="2")
    assert resolve_psk(None, two) == psk_from_passphrase(" two\n")
    monkeypatch.setenv("P2P_PSK_FILE", str(path))
    assert resolve_psk(None) == psk_from_passphrase("our passphrase")
    monkeypatch.setenv("P2P_PSK", "from env")  # P2P_PSK is looked at before P2P_PSK_FILE
    assert resolve_psk(None) == psk_from_passphrase("from env")


def test_psk_and_psk_file_exclude_each_other_and_problems_are_one_line(tmp_path) -> None:
    with pytest.raises(ValueError, match="not both"):
        resolve_psk("x", _secret(tmp_path, "y"))
    with pytest.raises(ValueError, match="cannot read the passphrase file"):
        resolve_psk(None, tmp_path / "missing")
    with pytest.raises(ValueError, match="empty"):
        resolve_psk(None, _secret(tmp_path, "\n"))


def test_a_file_other_users_can_read_is_warned_about(tmp_path) -> None:
    with pytest.warns(LoosePskFileWarning, match="chmod 600"):
        resolve_psk(None, _secret(tmp_path, "p", 0o644))


def test_a_refused_write_exits_5_and_says_not_allowed() -> None:
    error = WriteRefused("not allowed to write: ...")
    assert exit_code_for(error) == EXIT_NOT_ALLOWED == 5
    assert "not allowed to write" in explain(error)
