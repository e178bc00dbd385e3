"""The tree keeps the shape docs/architecture.md describes: layers, sizes, no import cycles.

Static checks over the source (the ast), so nothing has to be imported to find a violation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dispatcher", "simulation", "loadtest")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.parts[-1] == "__init__" else rel.parts
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"))


def imported(name: str) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every import statement of a module, relative ones resolved."""
    is_package = modules()[name].name == "__init__.py"
    for node in ast.walk(tree(name)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")
                parts = parts if is_package else parts[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([base] if base else [])])
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def project_imports(name: str) -> set[str]:
    """The project modules a module imports (a name that is an attribute maps to its module)."""
    found = set()
    for target, _ in imported(name):
        module = target
        while module and module not in modules():
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)
    return found


def test_no_import_cycles() -> None:
    graph = {m: project_imports(m) for m in modules()}
    # A package's __init__ importing its own children is re-export, not a cycle of design.
    for m, deps in graph.items():
        deps -= {d for d in deps if d.startswith(m + ".") or m.startswith(d + ".")}
    cycles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
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
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_and_functions_stay_small(name: str) -> None:
    path = modules()[name]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path}: {lines} lines, split it by responsibility"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(tree(name))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == [], f"{path}: functions over {MAX_FUNCTION_LINES} lines"


def test_the_files_make_test_schedules_first_exist() -> None:
    # tests.support.schedule: a renamed file would quietly lose its place at the front.
    from tests.support.schedule import LONGEST_FILES_S

    assert [f for f in LONGEST_FILES_S if not (ROOT / f).is_file()] == []
