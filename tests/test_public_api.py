"""The curated public surface: one list of names (``aichaos._LAZY``), every exported name
works, and nothing exported is dead."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import aichaos

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "src" / "aichaos" / "__init__.py"

PACKAGES = sorted(m.name for m in pkgutil.iter_modules(aichaos.__path__, "aichaos.")
                  if m.ispkg and not m.name.rsplit(".", 1)[1].startswith("_"))


def _type_checking_names() -> set[str]:
    """Names imported under ``if TYPE_CHECKING:`` in aichaos/__init__.py."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If)
                 and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING")
    return {a.asname or a.name for node in block.body if isinstance(node, ast.ImportFrom)
            for a in node.names}


def test_all_is_built_from_the_one_list_and_type_checkers_see_the_same_names() -> None:
    lazy = aichaos._LAZY  # the single list of public names
    assert aichaos.__all__ == sorted([*lazy, "__version__"])
    assert _type_checking_names() == set(lazy)
    for name, module in lazy.items():
        assert getattr(importlib.import_module(module), name) is getattr(aichaos, name)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_and_is_listed_once(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert exported, f"{package} has no __all__"
    assert len(exported) == len(set(exported))
    for name in exported:
        assert hasattr(module, name), f"{package}.{name} is exported but missing"


def test_the_packages_are_the_documented_components() -> None:
    """README and docs/architecture.md list every component package."""
    names = {p.removeprefix("aichaos.") for p in PACKAGES}
    assert names >= {"cli", "config", "dataset", "demo", "drift", "faults", "load", "perturb",
                     "probes", "proxy", "report", "results", "runner", "scoring", "session",
                     "store", "targets", "telemetry"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in names:
        assert re.search(rf"^  {name}/ ", readme, re.M), f"README's component list lacks {name}/"
        assert f"`{name}`" in architecture, f"docs/architecture.md lacks {name}"


def test_every_event_class_is_in_the_catalogue() -> None:
    """Every Event subclass is defined in aichaos._events and exported at the top level."""
    from aichaos import _events

    defined = [n for n, v in vars(_events).items()
               if isinstance(v, type) and issubclass(v, _events.Event) and v is not _events.Event]
    assert set(defined) <= set(aichaos.__all__)
    for path in (ROOT / "src" / "aichaos").rglob("*.py"):
        if path.name == "_events.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^class \w+\((\w+\.)?Event\)", text, re.M), \
            f"{path} defines an event outside the catalogue"


def test_exported_exceptions_are_raised_somewhere() -> None:
    src = "\n".join(p.read_text(encoding="utf-8")
                    for p in (ROOT / "src" / "aichaos").rglob("*.py"))
    for name in ("ConfigError", "DatasetError", "PluginError", "ProxyError", "RollbackError",
                 "StoreError", "TargetUnreachable"):
        assert re.search(rf"raise {name}\(", src), f"{name} is exported but never raised"
    # the two bases are caught, and raised through their subclasses
    assert issubclass(aichaos.TargetUnreachable, aichaos.TargetError)
    assert issubclass(aichaos.TargetError, aichaos.AIChaosError)


def test_every_layer_has_a_registered_suite() -> None:
    assert set(aichaos.suites.names()) == {"capability", "input_resilience", "integration",
                                           "safety", "observability", "scale"}
