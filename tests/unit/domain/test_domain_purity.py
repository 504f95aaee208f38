"""The domain imports only the standard library and never names ``float``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import dydx_trader.domain

DOMAIN = Path(dydx_trader.domain.__file__).resolve().parent
MODULES = sorted(DOMAIN.glob("*.py"))


def _imported_roots(tree: ast.AST) -> list[tuple[int, str]]:
    roots: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import stays inside the domain package
                continue
            roots.append((node.lineno, node.module or ""))
    return roots


def test_domain_has_modules_to_check() -> None:
    assert len(MODULES) >= 8
    assert {"chain_math.py", "margin.py", "sizing.py"} <= {path.name for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_module_when_parsed_then_imports_only_stdlib_and_the_domain(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offending = []
    for line, name in _imported_roots(tree):
        root = name.split(".", 1)[0]
        if name == "dydx_trader.domain" or name.startswith("dydx_trader.domain."):
            continue
        if root == "__future__" or root in sys.stdlib_module_names:
            continue
        offending.append(f"{path.name}:{line} imports {name}")
    assert not offending, "the domain must import only the standard library:\n" + "\n".join(
        offending
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_module_when_parsed_then_never_names_float(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    uses = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == "float")
        or (isinstance(node, ast.Attribute) and node.attr == "float")
        or (isinstance(node, ast.Constant) and isinstance(node.value, float))
    ]
    assert not uses, "money, sizes and prices are Decimal or int, never float: " + ", ".join(uses)


def test_purity_checks_when_given_a_bad_module_then_they_catch_it() -> None:
    bad = ast.parse("import numpy\nfrom requests import get\nx: float = 1.5\n")
    names = [name for _, name in _imported_roots(bad)]
    assert names == ["numpy", "requests"]
    assert not any(n.split(".")[0] in sys.stdlib_module_names for n in names)
