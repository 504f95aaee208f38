"""The domain imports only the standard library, never names ``float`` and holds no
module-level mutable state (no caches, no ``global``): every result depends on the
arguments alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import dydx_trader.domain

DOMAIN = Path(dydx_trader.domain.__file__).resolve().parent
MODULES = sorted(DOMAIN.rglob("*.py"))
_MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
_MUTABLE_CALLS = frozenset(
    {"dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "deque", "Counter"}
)


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


def _is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, _MUTABLE_DISPLAYS):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in _MUTABLE_CALLS
    return False


def _shared_bodies(tree: ast.Module) -> list[ast.stmt]:
    """Statements that run once and bind shared names: the module's top level
    (including its ``if``/``try`` blocks) and every class body."""
    statements: list[ast.stmt] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        statements.append(node)
        if isinstance(node, ast.ClassDef):
            pending.extend(node.body)
        elif isinstance(node, ast.If | ast.Try):
            pending.extend(node.body)
            pending.extend(node.orelse)
    return statements


def _mutable_state(tree: ast.Module) -> list[tuple[int, str]]:
    found = [
        (node.lineno, "global statement") for node in ast.walk(tree) if isinstance(node, ast.Global)
    ]
    for node in _shared_bodies(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and _is_mutable(node.value):
            found.append((node.lineno, "a mutable object bound at module or class level"))
        elif isinstance(node, ast.AugAssign):
            found.append((node.lineno, "a module-level name updated in place"))
    return sorted(found)


def test_domain_has_modules_to_check() -> None:
    assert len(MODULES) >= 8
    names = {path.relative_to(DOMAIN).as_posix() for path in MODULES}
    assert {"margin/chain_math.py", "margin/_state.py", "decide.py", "sizing.py"} <= names


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


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_module_when_parsed_then_holds_no_module_level_mutable_state(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = [f"{path.name}:{line}: {what}" for line, what in _mutable_state(tree)]
    assert not found, (
        "the domain keeps no state between calls (use tuples, frozensets or "
        "MappingProxyType for constant tables):\n" + "\n".join(found)
    )


def test_purity_checks_when_given_a_bad_module_then_they_catch_it() -> None:
    bad = ast.parse("import numpy\nfrom requests import get\nx: float = 1.5\n")
    names = [name for _, name in _imported_roots(bad)]
    assert names == ["numpy", "requests"]
    assert not any(n.split(".")[0] in sys.stdlib_module_names for n in names)


def test_state_check_when_given_caches_and_globals_then_it_catches_each() -> None:
    bad = ast.parse(
        "_cache = {}\n"
        "_seen: dict[int, int] = dict()\n"
        "class C:\n"
        "    memo = []\n"
        "def f():\n"
        "    global _cache\n"
        "    _cache = {1: 2}\n"
        "OK = (1, 2)\n"
        "TABLE = MappingProxyType({1: 2})\n"
    )
    assert [line for line, _ in _mutable_state(bad)] == [1, 2, 4, 6]
