"""The package layout's rules, checked by walking every import (function-level ones included):
``analysis`` imports nothing from ``lab``; a lower layer never imports a higher one; no import cycles."""

import ast
from pathlib import Path

from tests.conftest import REPO

# Lowest first. A module may import its own layer or lower ones. The style table is pure data that the
# variant schema validates against, so it sits with the foundations although it lives in render/.
LAYERS = [
    ("foundation", ("lab", "lab.config", "lab.errors", "lab.storage", "lab.render.styles")),
    ("library", ("lab.library",)),
    ("render", ("lab.render",)),
    ("experiments", ("lab.experiments",)),
    ("production", ("lab.production",)),
    ("front ends", ("lab.studio", "lab.cli", "lab.app", "lab.__main__")),
]
# Infrastructure that must not depend on a feature, even one below it.
FORBIDDEN = {
    "lab.experiments.tracking": ("lab.render", "lab.experiments.workflow"),
    "lab.experiments.privacy": ("lab.render", "lab.experiments.workflow"),
    "lab.studio": ("lab.cli",),
    "lab.cli": ("lab.studio",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, resolved to a module or package of this project where it is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("lab", "analysis")}


def project_modules() -> dict[str, set[str]]:
    graph = {}
    for package in ("lab", "analysis"):
        for path in sorted((REPO / package).rglob("*.py")):
            graph[module_name(path)] = imports(path)
    # "from lab.x import name" names a module only when lab.x.name is one; keep the edges that are.
    return {mod: {d for d in deps if d in graph} for mod, deps in graph.items()}


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return best


def test_analysis_imports_nothing_from_lab():
    graph = project_modules()
    bad = sorted((m, d) for m, deps in graph.items() if m.startswith("analysis") for d in deps if d.startswith("lab"))
    assert not bad, f"analysis/ must stand alone: {bad}"


def test_no_lower_layer_imports_a_higher_one():
    graph = project_modules()
    bad = []
    for mod, deps in graph.items():
        if not mod.startswith("lab"):
            continue
        for dep in deps:
            if dep.startswith("lab") and layer_of(dep) > layer_of(mod):
                bad.append(f"{mod} ({LAYERS[layer_of(mod)][0]}) imports {dep} ({LAYERS[layer_of(dep)][0]})")
    assert not bad, "\n".join(bad)


def test_forbidden_dependencies():
    graph = project_modules()
    bad = [f"{mod} imports {dep}" for mod, deps in graph.items() for dep in deps
           for owner, banned in FORBIDDEN.items() if (mod == owner or mod.startswith(owner + "."))
           for b in banned if dep == b or dep.startswith(b + ".")]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = project_modules()
    # Package __init__ files are imported by every submodule; only edges between real modules make cycles.
    edges = {m: {d for d in deps if d != m and not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_a_cycle_and_a_layer_break(tmp_path, monkeypatch):
    """The rules above can fail: a fake graph with a cycle and an upward import is caught."""
    assert layer_of("lab.library.variant") < layer_of("lab.studio.app")
    assert layer_of("lab.render.styles") < layer_of("lab.library.schema")
    fake = {"lab.library.a": {"lab.library.b"}, "lab.library.b": {"lab.library.a"}}
    monkeypatch.setitem(globals(), "project_modules", lambda: fake)
    try:
        test_no_import_cycles()
    except AssertionError as exc:
        assert "lab.library.a -> lab.library.b -> lab.library.a" in str(exc)
    else:
        raise AssertionError("a cycle went unnoticed")
    monkeypatch.setitem(globals(), "project_modules", lambda: {"lab.library.x": {"lab.studio.app"}})
    try:
        test_no_lower_layer_imports_a_higher_one()
    except AssertionError as exc:
        assert "lab.library.x (library) imports lab.studio.app (front ends)" in str(exc)
    else:
        raise AssertionError("an upward import went unnoticed")
