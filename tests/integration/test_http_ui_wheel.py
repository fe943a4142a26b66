"""The dashboard's files ship in the wheel (pyproject.toml package data), byte for byte."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_every_dashboard_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = tmp_path.glob("physarum_registry-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for path in (ROOT / "adapters" / "http" / "ui").iterdir():
            assert archive.read(f"adapters/http/ui/{path.name}") == path.read_bytes(), path.name
