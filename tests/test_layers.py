"""The layers of docs/ARCHITECTURE.md, read from the code's own imports: none points up or sideways."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = {"cli", "commands", "web", "reports", "planners", "accounts", "procure", "planning", "db", "common"}
ALLOWED = {
    "reports": {"reports", "procure", "planning", "db", "common"},
    "planners": {"planners", "accounts", "planning", "db", "common"},
    "accounts": {"accounts", "procure", "db", "common"},
    "procure": {"procure", "db", "common"},
    "planning": {"planning", "common"},
    "db": {"db", "common"},
    "common": {"common"},
}
FACES_ONLY = {"click", "flask", "flask_wtf", "flask_login", "flask_limiter", "waitress"}


def imports(path: Path) -> set[str]:
    """Top-level names of every module `path` imports (relative imports resolve to its own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(path.relative_to(ROOT).parts[0] if node.level else (node.module or "").split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    bad = {}
    for path in (ROOT / layer).rglob("*.py"):
        wrong = (imports(path) & PROJECT) - ALLOWED[layer]
        outside = imports(path) & FACES_ONLY
        if wrong | outside:
            bad[str(path.relative_to(ROOT))] = sorted(wrong | outside)
    assert not bad, f"imports against the layers: {bad}"


def test_the_check_sees_a_wrong_import(tmp_path):
    wrong = ROOT / "planning" / "_layer_probe.py"
    wrong.write_text("from procure import quota\nimport click\n", encoding="utf-8")
    try:
        assert imports(wrong) & PROJECT == {"procure"} and "click" in imports(wrong)
    finally:
        wrong.unlink()
