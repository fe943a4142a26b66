"""tests/conftest.py: a skip or an xfail, in a test or for a whole module, fails pytest's
own exit code (not only scripts/test.sh's count)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).parents[1] / "conftest.py"


def _pytest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_it.py").write_text(body)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:trio",
         str(tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)


@pytest.mark.parametrize(("body", "says"), [
    ("import pytest\ndef test_a():\n    pytest.skip('no engine')\n", "skips count"),
    ("import pytest\n@pytest.mark.skip(reason='later')\ndef test_a():\n    pass\n",
     "skips count"),
    ("import pytest\n@pytest.mark.xfail(reason='known')\ndef test_a():\n    assert False\n",
     "xfails count"),
    ("import pytest\n@pytest.mark.xfail(reason='known')\ndef test_a():\n    pass\n",
     "xfails count"),
    ("import pytest\ndef test_a():\n    pytest.xfail('known')\n", "xfails count"),
    ("import pytest\npytest.skip('no tool', allow_module_level=True)\ndef test_a():\n"
     "    pass\n", "skips count"),
])
def test_a_skip_or_xfail_fails_the_run(tmp_path: Path, body: str, says: str) -> None:
    run = _pytest(tmp_path, body)
    assert run.returncode != 0, run.stdout
    assert says in run.stdout, run.stdout


def test_a_passing_module_passes(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "def test_a():\n    pass\n")
    assert run.returncode == 0, run.stdout
