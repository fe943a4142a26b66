"""`registry-cli keygen` never overwrites: an existing file, or a symlink planted where the
key goes, is left as it was, with a one-line error (docs/security.md)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).parent / "registry-cli"


def _keygen(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), "keygen", str(path)], capture_output=True, text=True,
                          timeout=60)


def test_keygen_writes_a_0600_key_then_refuses_to_overwrite_it(tmp_path: Path) -> None:
    key = tmp_path / "key"
    made = _keygen(key)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = _keygen(key)
    assert again.returncode != 0
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr, again.stderr
    assert str(key) in again.stderr
    assert key.read_bytes() == before


def test_keygen_does_not_follow_a_symlink_planted_at_the_path(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / "key")
    refused = _keygen(tmp_path / "key")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert victim.read_text() == "precious\n"
