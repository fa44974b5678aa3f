"""The demo is a system under test, not part of the tool's core (issue 13, item 5)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from aichaos.config import load_experiment
from aichaos.probes._safety_cases import PACKAGED_DATASET, load_safety_items
from tests_support import ROOT

SRC = ROOT / "src" / "aichaos"
DEMO = SRC / "demo"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def test_the_app_imports_nothing_of_aichaos_but_itself() -> None:
    found = {(p.name, m) for p in (DEMO / "app").glob("*.py") for m in _imports(p)
             if m.split(".")[0] == "aichaos" and not m.startswith("aichaos.demo.app")}
    assert found == set()


def test_no_module_outside_the_demo_imports_its_private_parts() -> None:
    found = {(str(p.relative_to(SRC)), m) for p in SRC.rglob("*.py")
             if DEMO not in p.parents for m in _imports(p)
             if m.startswith("aichaos.demo.")}
    assert found == set()


def test_the_demo_never_changes_this_process_environment() -> None:
    culprits = []
    for p in DEMO.rglob("*.py"):
        if (DEMO / "app") in p.parents:
            continue  # the app runs in its own process
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if isinstance(target, ast.Subscript) and ast.unparse(target.value) == "os.environ":
                culprits.append(f"{p.name}:{node.lineno}")
            if isinstance(node, ast.Call) and ast.unparse(node.func) in (
                    "os.environ.update", "os.environ.setdefault", "os.putenv",
                    "os.environ.pop", "os.unsetenv"):
                culprits.append(f"{p.name}:{node.lineno}")
    assert culprits == []


def test_free_port_lives_in_the_library_and_stays_importable_from_the_demo() -> None:
    import aichaos.demo
    from aichaos._net import free_port

    assert aichaos.demo.free_port is free_port
    assert 1024 < free_port() < 65536


def test_the_library_default_probes_are_generic_and_the_demo_brings_its_own() -> None:
    assert PACKAGED_DATASET.is_relative_to(SRC / "probes")
    text = PACKAGED_DATASET.read_text(encoding="utf-8")
    assert "northwind" not in text.lower() and "NW-" not in text
    items = load_safety_items(None, "AIC-CANARY-00000000")
    assert set(items) == {"unanswerable", "false_premise", "fabricated_entities",
                          "prompt_injection_direct", "prompt_injection_indirect",
                          "system_prompt_leak", "pii_echo"}
    assert all(len(v) >= 5 for v in items.values())
    exp = load_experiment(DEMO / "experiment.yaml")
    assert exp.layers.safety is not None
    assert exp.layers.safety.dataset == str((DEMO / "datasets" / "safety.yaml").resolve())
    demo_probes = yaml.safe_load((DEMO / "datasets" / "safety.yaml").read_text())
    assert "Northwind" in str(demo_probes["fabricated_entities"])
