"""Third-party plugins through the ``aichaos.plugins`` entry point, used from an experiment
file by the real CLI in a subprocess; a plugin that fails to import or takes a built-in's name
is skipped with one line naming its package, entry point and the name, and the rest works.

Each plugin is a throwaway package in tmp_path with a ``.dist-info`` (METADATA and
entry_points.txt), put on the subprocess's PYTHONPATH: what ``pip install`` leaves behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests_support import ROOT, write

SRC = ROOT / "src"


def _package(site: Path, dist: str, module: str, code: str) -> None:
    """A tiny installed distribution ``dist`` whose entry point imports ``module``."""
    (site / f"{module}.py").write_text(code, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[aichaos.plugins]\n{module} = {module}\n",
                                           encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")


SHOUT = '''
import random
from aichaos.perturb import Perturbation, register

@register
class Shout(Perturbation):
    """Upper-cases the input."""
    name = "shout"
    summary = "the input in capitals"
    source = "third-party test plugin"

    def _perturb(self, text: str, rng: random.Random):
        return text.upper(), [{"op": "shout"}]
'''


def _experiment(tmp: Path, perturbations: list[str]) -> Path:
    write(tmp / "cases.yaml", """
        - {id: greet, input: "hello there", expected: [hi]}
    """)
    return write(tmp / "exp.yaml", f"""
        title: third-party plugins
        target:
          type: mock
          answers: {{"hello there": "hi!", "HELLO THERE": "HI!"}}
        dataset: cases.yaml
        steady-state-hypothesis: {{sample: 1}}
        layers:
          input_resilience: {{perturbations: {json.dumps(perturbations)}, severity: [1]}}
        report: {{dir: "{tmp / 'results'}", formats: [json]}}
    """)


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}
    return subprocess.run([sys.executable, "-m", "aichaos", *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=site.parent)


def _report(tmp: Path) -> dict[str, object]:
    [path] = (tmp / "results").glob("*/report.json")
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_an_installed_plugin_is_used_from_an_experiment_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _package(site, "aichaos-shout", "aichaos_shout", SHOUT)
    proc = _run(site, "run", str(_experiment(tmp_path, ["shout"])))
    assert proc.returncode == 0, proc.stderr
    assert "skipped" not in proc.stderr
    layer2 = next(layer for layer in _report(tmp_path)["scorecard"]["layers"]  # type: ignore[index]
                  if layer["layer"] == 2)
    rows = layer2["details"]["perturbations"]
    assert [(r["name"], r["invariance_rate"]) for r in rows] == [("shout", 1.0)]


def test_a_broken_and_a_clashing_plugin_are_skipped_with_one_line_each(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _package(site, "aichaos-broken", "aichaos_broken", "import no_such_module_anywhere\n")
    _package(site, "aichaos-clash", "aichaos_clash",
             SHOUT + SHOUT.replace("class Shout", "class Shout2")
             .replace('name = "shout"', 'name = "typo_keyboard"'))
    # --hypothesis-exit: the mock misses typo'd questions (a failed invariance check), and
    # this test is about the run completing, not about its checks
    proc = _run(site, "run", str(_experiment(tmp_path, ["typo_keyboard", "casing"])),
                "--hypothesis-exit")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "skipped" in line]
    assert sorted(lines) == [
        "aichaos: plugin 'aichaos_broken' (package 'aichaos-broken', entry point "
        "aichaos.plugins: aichaos_broken) skipped: failed to import: ModuleNotFoundError: "
        "No module named 'no_such_module_anywhere'",
        "aichaos: plugin 'aichaos_clash' (package 'aichaos-clash', entry point "
        "aichaos.plugins: aichaos_clash) skipped: perturbation 'typo_keyboard' is registered "
        "twice (already by aichaos)",
    ]
    # the rest of aichaos works: the built-in typo_keyboard ran, and nothing of the
    # clashing package stayed registered (its other perturbation was undone too)
    layer2 = next(layer for layer in _report(tmp_path)["scorecard"]["layers"]  # type: ignore[index]
                  if layer["layer"] == 2)
    assert sorted(r["name"] for r in layer2["details"]["perturbations"]) == [
        "casing", "typo_keyboard"]
    listing = _run(site, "run", str(_experiment(tmp_path, ["shout"])))
    assert listing.returncode == 2
    assert "unknown perturbation 'shout'" in listing.stderr
