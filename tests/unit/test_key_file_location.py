"""Which key file an instance uses without --keyfile, and the move off the shared default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.libp2p.identity import KeyAlgorithm, encode_key_file, generate_private_key
from adapters.libp2p.key_file_location import choose_key_file, instance_key_file


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_each_instance_has_its_own_file_beside_its_data_dir(home: Path) -> None:
    data = home / "share" / "etcd-127.0.0.1-2379-2380"
    expected = home / "share/etcd-127.0.0.1-2379-2380.key"
    assert choose_key_file(None, data, ran_before=False) == expected
    other = home / "share" / "etcd-127.0.0.2-2379-2380"
    assert choose_key_file(None, other, ran_before=False) != choose_key_file(
        None, data, ran_before=False
    )


def test_keyfile_flag_keeps_gos_path(home: Path) -> None:
    assert choose_key_file("~/.privKeyHashLookup", home / "d", ran_before=True) == (
        home / ".privKeyHashLookup"
    )


def test_an_instance_that_ran_with_the_shared_default_keeps_its_key(home: Path) -> None:
    text = encode_key_file(generate_private_key(KeyAlgorithm.ED25519))
    (home / ".privKeyHashLookup").write_text(text)
    data = home / "etcd-a"
    chosen = choose_key_file(None, data, ran_before=True)
    assert chosen == instance_key_file(data)
    assert chosen.read_text() == text  # the same key, so the same peer id
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o600
    # Once it has its own file, that file wins even if the shared one changes.
    (home / ".privKeyHashLookup").write_text("changed")
    assert choose_key_file(None, data, ran_before=True).read_text() == text


def test_a_new_instance_does_not_copy_the_shared_default(home: Path) -> None:
    (home / ".privKeyHashLookup").write_text("1 AAAA\n")
    chosen = choose_key_file(None, home / "etcd-new", ran_before=False)
    assert not chosen.exists()  # generated at first start, a key of its own
