"""The shape of the library, held by tests: no import cycles between its modules, a
docstring for every subpackage saying what belongs there, and function-level imports
only where start-up cost is measured (each says why on the line before it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "ledger"  # the import package `provledger`
CLI = ROOT / "cli"  # `provledger.cli`
PACKAGE = "provledger"


def _module_name(path: Path) -> str:
    if path.is_relative_to(CLI):
        parts = ["cli", *path.relative_to(CLI).with_suffix("").parts]
    else:
        parts = list(path.relative_to(LIBRARY).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def _modules() -> dict[str, Path]:
    files = [*LIBRARY.rglob("*.py"), *CLI.rglob("*.py")]
    return {_module_name(p): p for p in sorted(files) if "__pycache__" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST, known: set[str], here: str) -> list[tuple[ast.stmt, str]]:
    """(statement, imported library module) for every import that runs, at any depth,
    outside ``if TYPE_CHECKING`` blocks."""
    found: list[tuple[ast.stmt, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name in known:
                        found.append((child, alias.name))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    if full in known:
                        found.append((child, full))
                    elif child.module in known:
                        found.append((child, child.module))
            visit(child)

    visit(tree)
    return [(stmt, mod) for stmt, mod in found if mod != here]


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[ast.stmt, str]]]]:
    modules = _modules()
    known = set(modules)
    edges: dict[str, set[str]] = {}
    imports: dict[str, list[tuple[ast.stmt, str]]] = {}
    for name, path in modules.items():
        found = _runtime_imports(ast.parse(path.read_text()), known, name)
        imports[name] = found
        # A package's __init__ imported on the way to a submodule is not an edge of ours.
        edges[name] = {mod for _, mod in found}
    return edges, imports


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_library_modules() -> None:
    edges, _ = _graph()
    # The package __init__ re-exports the public API lazily; imports of it are not edges.
    for targets in edges.values():
        targets.discard(PACKAGE)
    assert _cycles(edges) == []


def test_function_level_imports_say_why() -> None:
    """An import inside a function defers a measured start-up cost; the comment on the
    line before it (or on the same line) says which."""
    unexplained = []
    for path in _modules().values():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for stmt in ast.walk(func):
                if not isinstance(stmt, ast.Import | ast.ImportFrom):
                    continue
                line = lines[stmt.lineno - 1]
                before = lines[stmt.lineno - 2].strip() if stmt.lineno > 1 else ""
                if "#" not in line and not before.startswith("#"):
                    unexplained.append(f"{path.relative_to(ROOT)}:{stmt.lineno}")
    assert unexplained == []


@pytest.mark.parametrize(
    "package",
    sorted(p.parent for p in LIBRARY.rglob("__init__.py") if p.parent != LIBRARY),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_subpackage_says_what_belongs_there(package: Path) -> None:
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
    assert doc and len(doc.split()) >= 8
