"""domain/ imports the standard library and msgspec only; application/ that and domain.

import-linter (scripts/test.sh) checks the layers between our packages and forbids the
third-party packages we depend on; this reads every import statement, so that a package
added later cannot slip past its list either.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "domain": {"msgspec", "domain"},
    "application": {"msgspec", "domain", "application"},
}


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_standard_library_and_what_it_may(layer: str) -> None:
    foreign = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in top_level_imports(path)
        if name not in sys.stdlib_module_names and name not in ALLOWED[layer]
    }
    assert foreign == set()


def test_the_check_sees_a_third_party_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import trio\nfrom libp2p.abc import IHost\nimport json\n")
    assert top_level_imports(module) - sys.stdlib_module_names == {"trio", "libp2p"}
