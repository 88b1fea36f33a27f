"""The packages' boundaries, as imports: the REST API and the pages both build on ``gate`` and
the service and never import each other; the pure core imports no framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "gongji"


def imports(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` and the gongji modules it imports."""
    out = {}
    for path in (SRC / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        out[str(path.relative_to(SRC))] = {n for n in names if n.startswith("gongji")}
    return out


@pytest.mark.parametrize("package, forbidden", [
    ("api", ("gongji.web", "gongji.app")),
    ("web", ("gongji.api", "gongji.app")),
    ("gate", ("gongji.api", "gongji.web", "gongji.app")),
    ("service", ("gongji.api", "gongji.web", "gongji.gate", "gongji.app")),
    ("domain", ("gongji.service", "gongji.store", "gongji.api", "gongji.web", "gongji.gate", "gongji.policy")),
])
def test_a_package_does_not_import_what_sits_beside_or_above_it(package, forbidden):
    found = {module: sorted(n for n in names if n.startswith(forbidden))
             for module, names in imports(package).items()}
    assert {m: n for m, n in found.items() if n} == {}


def test_the_pages_are_split_by_audience():
    pages = {p.stem for p in (SRC / "web").glob("*.py")}
    assert {"public", "portal", "desk", "cashier", "common"} <= pages
    assert "pages" not in pages
