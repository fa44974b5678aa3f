"""Seed a results store with real runs of ``aichaos run`` against the Python target app."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import ui_support_app
import yaml
from typer.testing import CliRunner

HERE = Path(__file__).parent


@dataclass
class Seeded:
    """What was stored: the experiment titles and the run ids of each, oldest first."""

    url: str
    titles: tuple[str, str]
    runs: dict[str, list[str]] = field(default_factory=dict)


def _experiment(path: Path, title: str, function: str, url: str, results: Path) -> Path:
    dataset = path.parent / "cases.yaml"
    dataset.write_text(yaml.safe_dump({"cases": [
        {"id": f"item-{i}", "input": q, "expected": [fact]}
        for i, (q, fact) in enumerate(ui_support_app.FACTS.items())]}))
    path.write_text(yaml.safe_dump({
        "title": title,
        "target": {"type": "python", "function": f"ui_support_app:{function}",
                   "path": str(HERE)},
        "dataset": str(dataset),
        "steady-state-hypothesis": None,
        "layers": {"capability": {"scorer": {"type": "contains"}},
                   "input_resilience": {"perturbations": ["casing", "whitespace_noise",
                                                          "typo_keyboard"],
                                        "severity": [1], "limit": 4,
                                        "scorer": {"type": "contains"}}},
        "runtime": {"seed": 7, "concurrency": 4},
        "report": {"dir": str(results), "formats": ["json"]},
        "store": {"url": url},
    }, sort_keys=False))
    return path


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the real ``aichaos`` CLI in process (typer's runner) on a thread of its own: the
    commands call ``asyncio.run``, which refuses to run inside pytest-asyncio's loop."""
    from aichaos.cli._main import app

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(CliRunner().invoke, app, list(args),
                             env={"COLUMNS": "200"}).result()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def seed(url: str, workdir: Path, suffix: str = "") -> Seeded:
    """Store three runs of a support-bot experiment (good, good, bad release) and one run of
    a second experiment, each by ``aichaos run`` (the CLI, in process)."""
    titles = (f"Support bot returns{suffix}", f"Support bot nightly{suffix}")
    seeded = Seeded(url, titles)
    results = workdir / "results"
    plan = [(titles[0], "answer_good"), (titles[0], "answer_good"), (titles[0], "answer_bad"),
            (titles[1], "answer_good")]
    for n, (title, function) in enumerate(plan):
        exp = _experiment(workdir / f"exp{n}.yaml", title, function, url, results)
        code, out, err = run_cli("run", str(exp), "--results", str(results))
        assert code in (0, 1) and results.is_dir(), (code, out[-2000:], err[-2000:])
        run_ids = sorted(p.name for p in results.iterdir() if p.is_dir())
        new = [r for r in run_ids if r not in {x for v in seeded.runs.values() for x in v}]
        assert len(new) == 1, new
        report = json.loads((results / new[0] / "report.json").read_text())
        assert report["scorecard"]["layers"][0]["score"] is not None
        seeded.runs.setdefault(title, []).append(new[0])
    return seeded
