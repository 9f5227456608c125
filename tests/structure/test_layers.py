"""The engine's layers stay acyclic, and the desktop app reaches the engine through its facade.

Read from the source (ast), so a lazy import inside a function counts like one at the
top of a module; only imports under ``if TYPE_CHECKING:`` are left out (they name a
type for the checker and never run). docs/engine.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

# Lowest first. A module may import its own package and any lower layer, nothing above.
LAYERS: list[set[str]] = [
    {"engine", "engine.jobs", "engine.paths"},  # foundations: version, progress and cancel, where a library lives
    {"engine.pixels", "engine.ocr"},  # photo files into pixels; words read from pixels
    {"engine.models"},  # backbones, the hub and weights, projections, the hashing network
    {"engine.codes"},  # code layout and the code models that make codes
    {"engine.library"},  # the store, scanning, metadata, indexing, code models on disk
    {"engine.search"},  # rankings, filters, duplicates, suggestions
    {"engine.training"},  # learning from tags, evaluating, the model lifecycle
    {"engine.facade", "engine.diagnostics"},  # what an application talks to
    {"engine.cli_search"},  # the `bitlens` command: its search-side subcommands
    {"engine.cli"},  # the `bitlens` command
]

# What the desktop app may import from the engine: the facade and the few plain-data
# modules everything shares (progress events, library locations, the version).
GUI_ENGINE_IMPORTS = {"engine", "engine.facade", "engine.jobs", "engine.paths", "engine.diagnostics"}


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((REPO / package).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


ENGINE = _modules("engine")
GUI = _modules("desktop_app")
ALL = {**ENGINE, **GUI}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(module: str, path: Path) -> set[str]:
    """Modules of this project that `module` imports anywhere in its body (TYPE_CHECKING blocks aside)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module or ""
                names = [source] + [f"{source}.{alias.name}" for alias in child.names]
            for name in names:
                # `import a.b.c` needs a.b.c; `from a.b import c` needs a.b, or a.b.c when c is a module
                if name in ALL and name != module:
                    out.add(name)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


GRAPH = {module: _imported(module, path) for module, path in ALL.items()}


def _layer(module: str) -> int:
    for index, members in enumerate(LAYERS):
        for member in members:
            if module == member or (member != "engine" and module.startswith(member + ".")):
                return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS here and to docs/engine.md")


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and ALL[module].name == "__init__.py") else module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_engine_module_imports_only_its_own_package_and_lower_layers():
    wrong = [
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module in sorted(ENGINE)
        for target in sorted(GRAPH[module])
        if target in ENGINE and _package(target) != _package(module) and _layer(target) >= _layer(module)
    ]
    assert wrong == []


@pytest.mark.parametrize("scope", ["engine", "desktop_app"])
def test_no_import_cycles_among_modules(scope):
    graph = {module: {t for t in targets if t.split(".")[0] == scope} for module, targets in GRAPH.items() if module.split(".")[0] == scope}
    assert _cycles(graph) == []


def test_no_import_cycles_among_engine_packages():
    graph: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        if module in ENGINE:
            graph.setdefault(_package(module), set()).update(_package(t) for t in targets if t in ENGINE and _package(t) != _package(module))
    assert _cycles(graph) == []


def test_the_desktop_app_reaches_the_engine_through_the_facade():
    reached = {target for module in GUI for target in GRAPH[module] if target in ENGINE}
    assert reached - GUI_ENGINE_IMPORTS == set()


def test_the_desktop_app_holds_no_sql():
    """Queries live in the engine (engine/library/readmodel.py), not in widgets."""
    offenders = []
    for module, path in GUI.items():
        source = path.read_text(encoding="utf-8")
        if "sqlalchemy" in source or ".raw(" in source or any(word in source for word in ("SELECT ", "INSERT INTO", "UPDATE images", "DELETE FROM")):
            offenders.append(module)
    assert offenders == []


def test_the_checker_itself_sees_a_cycle_and_a_layer_break():
    """The guard is only worth having if it can fail: a planted cycle and an upward edge are found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _layer("engine.library.indexing") < _layer("engine.search.searcher")
