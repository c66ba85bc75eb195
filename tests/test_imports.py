"""The import graph of hsiwq/ and flows/, read from the source (ast): no cycles, and no
production module imports the simulator (hsiwq.simulate).

Every import counts — module level and inside functions (a lazy import is still a
dependency) — except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Modules allowed to import hsiwq.simulate: the simulator itself and the CLI command that
#: runs it (``hsiwq simulate``, importing it lazily).
SIMULATOR = "hsiwq.simulate"
MAY_IMPORT_SIMULATOR = {"hsiwq.cli.chain"}


def _modules() -> dict[str, tuple[Path, bool]]:
    mods = {}
    for top in ("hsiwq", "flows"):
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            mods[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return mods


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _targets(module: str, is_pkg: bool, node: ast.Import | ast.ImportFrom, known) -> list[str]:
    """Modules an import statement loads (``from pkg import sub`` loads ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    return [f"{name}.{a.name}" if f"{name}.{a.name}" in known else name for a in node.names]


def import_graph() -> dict[str, set[str]]:
    """First-party module → first-party modules it imports."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for module, (path, is_pkg) in mods.items():
        deps: set[str] = set()

        def visit(node: ast.AST) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _type_checking(child):
                    for other in child.orelse:
                        visit(other)
                    continue
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    deps.update(t for t in _targets(module, is_pkg, child, mods) if t in mods and t != module)
                visit(child)

        visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        graph[module] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_walker_sees_imports_and_finds_a_planted_cycle(graph):
    # real edges, of every kind: relative, absolute, lazy (inside a function)
    assert "hsiwq.bio_optics.forward" in graph["hsiwq.models.physics"]
    assert "hsiwq.alerts.engine" in graph["hsiwq.alerts.conditions"]
    assert "hsiwq.simulate.bundle" in graph["hsiwq.cli.chain"]  # lazy, in the command
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}) == [["a", "b", "c"]]
    planted = {k: set(v) for k, v in graph.items()}
    planted["hsiwq.bio_optics.forward"].add("hsiwq.models.physics")
    assert any({"hsiwq.bio_optics.forward", "hsiwq.models.physics"} <= set(c) for c in cycles(planted))


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_production_code_never_imports_the_simulator(graph):
    offenders = sorted(
        f"{m} -> {d}" for m, deps in graph.items()
        if not (m == SIMULATOR or m.startswith(SIMULATOR + ".")) and m not in MAY_IMPORT_SIMULATOR
        for d in deps if d == SIMULATOR or d.startswith(SIMULATOR + "."))
    assert offenders == []
