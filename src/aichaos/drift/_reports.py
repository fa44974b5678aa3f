"""Finished runs as scorecards: read from the results store or from report.json files.

CI jobs keep a run's directory (``report.json``, ``journal.json``, ...) as an artifact, so a
comparison must work from files as well as from the store. A reference is either a run id
known to the store (``latest`` and ``baseline`` as in ``aichaos compare``), a ``report.json``
path, or a run directory holding one. The experiment's identity (title, target, dataset)
comes from the store's run row, or from the ``journal.json`` next to the report (Chaos
Toolkit journals carry the experiment).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aichaos.errors import ConfigError
from aichaos.store import ResultStore


@dataclass(slots=True)
class RunReport:
    """A finished run's scorecard and the identity of the experiment it ran.

    Attributes:
        run_id: the run id (or the file name when the report does not say).
        source: where it was read from: ``store`` or the report.json path.
        title: experiment title.
        scorecard: ``Scorecard.to_dict()`` shape (``overall``, ``layers``).
        target: secret-free target description (``{"type": "openai", "base_url": ...}``),
            or None when unknown.
        dataset: the golden dataset, relative to the experiment file when possible, or None.
        status: journal status (``completed``, ``failed``, ...), or None.
    """

    run_id: str
    source: str
    title: str
    scorecard: dict[str, Any]
    target: dict[str, Any] | None = None
    dataset: str | None = None
    status: str | None = None


def _dataset_name(experiment: dict[str, Any]) -> str | None:
    dataset = experiment.get("dataset")
    if not dataset:
        return None
    path, source = Path(str(dataset)), experiment.get("source")
    if source:
        try:
            return path.relative_to(Path(str(source)).parent).as_posix()
        except ValueError:
            pass
    return path.name  # absolute paths differ between CI checkouts; the name does not


def _identity(report: RunReport, experiment: Any) -> None:
    if isinstance(experiment, dict):
        target = experiment.get("target")
        report.target = target if isinstance(target, dict) else None
        report.dataset = _dataset_name(experiment)
        report.title = str(experiment.get("title") or report.title)


def looks_like_path(ref: str) -> bool:
    """True when ``ref`` names a file or directory (or ends in ``.json``) rather than a run id."""
    return ref.endswith(".json") or Path(ref).exists()


def read_report_file(ref: str) -> RunReport:
    """A :class:`RunReport` from a ``report.json`` path or a run directory holding one.

    Raises:
        ConfigError: the file is missing, not JSON, or not an aichaos report.
    """
    path = Path(ref)
    if path.is_dir():
        path = path / "report.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: report file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the report: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("scorecard"), dict):
        raise ConfigError(f"{path}: not an aichaos report.json (no 'scorecard' object)")
    run: dict[str, Any] = doc["run"] if isinstance(doc.get("run"), dict) else {}
    report = RunReport(run_id=str(run.get("run_id") or path.parent.name), source=str(path),
                       title=str(run.get("title") or ""), scorecard=doc["scorecard"],
                       status=run.get("status") or doc.get("journal_status"))
    experiment = doc.get("experiment")
    journal_path = path.with_name("journal.json")
    if experiment is None and journal_path.is_file():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{journal_path}: cannot read the journal next to the report: "
                              f"{exc}") from exc
        experiment = journal.get("experiment") if isinstance(journal, dict) else None
    _identity(report, experiment)
    return report


def read_stored_run(store: ResultStore, run_id: str) -> RunReport:
    """A :class:`RunReport` of a run in the results store.

    Raises:
        ConfigError: unknown run, or a run that never finished (no scorecard stored).
    """
    row = store.run(run_id)
    if row is None:
        raise ConfigError(f"run {run_id!r}: not in the results store")
    if not row.get("scorecard"):
        raise ConfigError(f"run {run_id!r}: has no scorecard (status {row.get('status')}; "
                          "did it finish?)")
    report = RunReport(run_id=run_id, source="store", title=str(row["title"]),
                       scorecard=json.loads(row["scorecard"]), status=row.get("status"))
    _identity(report, json.loads(row["experiment"]) if row.get("experiment") else None)
    return report


def load_pair(base: str, head: str, open_store: Callable[[], ResultStore]
              ) -> tuple[RunReport, RunReport]:
    """BASE and HEAD as :class:`RunReport`, each a report path or a run reference.

    Run references (ids, ``latest``, ``baseline``) are resolved in the store that
    ``open_store`` opens (only called when one is needed); ``baseline`` and ``latest`` for
    BASE are taken relative to HEAD's experiment as in ``aichaos compare``.

    Raises:
        ConfigError: a reference is unknown or a file is not a report.
    """
    from aichaos.drift._baseline import resolve_run

    refs = {"base": base, "head": head}
    files = {k: read_report_file(v) for k, v in refs.items() if looks_like_path(v)}
    if len(files) == 2:
        return files["base"], files["head"]
    store = open_store()
    try:
        if "head" in files:
            head_report = files["head"]
        else:
            head_report = read_stored_run(store, resolve_run(store, head))
        if "base" in files:
            base_report = files["base"]
        else:
            of = head_report.run_id if head_report.source == "store" else None
            base_report = read_stored_run(store, resolve_run(store, base, experiment_of=of))
    finally:
        store.close()
    return base_report, head_report
