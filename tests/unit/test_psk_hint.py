"""The passphrase advice names how this command got one (issue 26)."""

from __future__ import annotations

import pytest

from adapters.libp2p.dial_failure import WrongPrivateNetwork
from entrypoints.cli.main import main
from entrypoints.cli.psk_hint import psk_source, with_passphrase_hint


def test_the_source_follows_resolve_psks_order() -> None:
    assert psk_source("x", None, {}) == "--psk"
    assert psk_source(None, "/f", {"P2P_PSK": "y"}) == "--psk-file"
    assert psk_source(None, None, {"P2P_PSK": "y", "P2P_PSK_FILE": "/f"}) == "P2P_PSK"
    assert psk_source(None, None, {"P2P_PSK_FILE": "/f"}) == "P2P_PSK_FILE"
    assert psk_source(None, None, {}) is None


def test_the_hint_names_the_flag_used_or_how_to_give_one() -> None:
    wrong = WrongPrivateNetwork("the bootstrap peers are in a different private network")
    assert str(with_passphrase_hint(wrong, "--psk-file")).endswith(
        "; the one given with --psk-file is not theirs"
    )
    assert "--psk /" not in str(with_passphrase_hint(wrong, "--psk-file"))
    assert "give its passphrase with --psk-file FILE" in str(with_passphrase_hint(wrong, None))
    other = ValueError("something else")
    assert with_passphrase_hint(other, "--psk") is other


def test_an_empty_passphrase_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("P2P_PSK", raising=False)
    monkeypatch.delenv("P2P_PSK_FILE", raising=False)
    assert main(["--psk", "", "--bootstrap", "/ip4/127.0.0.1/tcp/1/p2p/x", "list"]) == 2
    assert "the passphrase is empty" in capsys.readouterr().err
