"""The package layering holds: no upward import, no cycle between packages, no module cycle.

The layering is the table in docs/architecture.md (read here, not repeated); the import graph
is every ``import`` / ``from ... import`` in src/aichaos, at module level and inside functions
and ``TYPE_CHECKING`` blocks alike, found by walking each module's AST.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "aichaos"
DOC = ROOT / "docs" / "architecture.md"

Graph = Mapping[str, Iterable[str]]


def read_tiers(doc: Path = DOC) -> dict[str, int]:
    """package -> tier, from the "| Tier | Packages | Role |" table of the architecture doc."""
    tiers: dict[str, int] = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if match:
            for name in re.findall(r"`([^`]+)`", match.group(2)):
                tiers[name] = int(match.group(1))
    return tiers


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_graph(src: Path = SRC) -> dict[str, set[str]]:
    """module -> aichaos modules it imports (``from pkg import name`` counts as ``pkg.name``
    when that is a module, else as ``pkg``)."""
    modules = {_module_name(p): p for p in src.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                submodules = {f"{target}.{a.name}" for a in node.names} & modules.keys()
                deps.update(submodules)
                if len(submodules) < len(node.names):  # some names come from the module
                    deps.add(target)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def package_of(module: str) -> str:
    """``aichaos.proxy._server`` -> ``proxy``; ``aichaos`` itself -> ``aichaos``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(modules: Graph) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, deps in modules.items():
        src = package_of(module)
        graph.setdefault(src, set()).update(package_of(d) for d in deps
                                            if package_of(d) != src)
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan 1972), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def upward_edges(graph: Graph, tiers: Mapping[str, int]) -> list[str]:
    """``"a (tier 1) -> b (tier 3)"`` for every import of a package that is not lower."""
    return sorted(f"{src} (tier {tiers[src]}) -> {dst} (tier {tiers[dst]})"
                  for src, deps in graph.items() for dst in deps
                  if src in tiers and dst in tiers and tiers[dst] >= tiers[src])


# --------------------------------------------------------------------------- the real code


def test_every_package_has_a_tier_in_the_architecture_doc() -> None:
    tiers = read_tiers()
    packages = set(package_graph(module_graph()))
    assert packages - set(tiers) == set(), "add the new package to docs/architecture.md"
    assert set(tiers) - packages == set(), "docs/architecture.md lists a package that is gone"
    assert tiers["errors"] == 0 and tiers["cli"] > tiers["demo"] > tiers["session"]
    assert {tiers[p] for p in ("config", "_events", "results")} == {2}


def test_no_package_imports_a_higher_or_equal_tier() -> None:
    assert upward_edges(package_graph(module_graph()), read_tiers()) == []


def test_no_import_cycle_between_packages() -> None:
    assert find_cycles(package_graph(module_graph())) == []


def test_no_import_cycle_between_modules() -> None:
    """Lazy imports inside functions count too: a cycle broken only by one is still a cycle
    (the proxy's ``_server``/``_control``/``_fast`` share their types through ``_types``)."""
    assert find_cycles(module_graph()) == []


def test_the_walk_sees_imports_inside_functions() -> None:
    graph = module_graph()
    # aichaos.cli._main imports the demo only inside the `demo` command
    assert "aichaos.demo" in graph["aichaos.cli._main"]
    assert "aichaos.telemetry" in graph["aichaos.session._run"]  # inside run_experiment


# --------------------------------------------------------------------------- the checker


def test_checker_reports_a_cycle_and_an_upward_edge() -> None:
    tiers = {"errors": 0, "config": 1, "runner": 5, "cli": 8}
    cyclic = {"config": {"errors", "runner"}, "runner": {"config"}, "cli": {"runner"}}
    assert find_cycles(cyclic) == [["config", "runner"]]
    assert upward_edges(cyclic, tiers) == ["config (tier 1) -> runner (tier 5)"]
    sideways = {"runner": {"cli"}, "cli": set()}
    assert upward_edges(sideways, tiers) == ["runner (tier 5) -> cli (tier 8)"]
    clean = {"cli": {"runner", "config"}, "runner": {"config"}, "config": {"errors"}}
    assert find_cycles(clean) == [] and upward_edges(clean, tiers) == []


def test_checker_finds_a_deliberate_violation_in_real_source(tmp_path: Path) -> None:
    pkg = tmp_path / "aichaos"
    for name, body in {
        "__init__.py": "",
        "errors.py": "",
        "config/__init__.py": "from aichaos.config._model import X\n",
        "config/_model.py": "def f():\n    from aichaos.runner import Runner  # upward, lazy\n",
        "runner/__init__.py": "from aichaos.config import X\nimport aichaos.errors\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(body)
    global SRC
    saved, SRC = SRC, pkg
    try:
        graph = package_graph(module_graph(pkg))
    finally:
        SRC = saved
    assert graph["config"] == {"runner"} and graph["runner"] == {"config", "errors"}
    assert find_cycles(graph) == [["config", "runner"]]
    assert upward_edges(graph, {"errors": 0, "config": 1, "runner": 5, "aichaos": 8}) == [
        "config (tier 1) -> runner (tier 5)"]


@pytest.mark.parametrize("package", ["results", "_events", "config", "errors"])
def test_the_bottom_imports_no_component(package: str) -> None:
    graph = package_graph(module_graph())
    tiers = read_tiers()
    assert all(tiers[d] < tiers[package] for d in graph.get(package, ())), graph[package]
