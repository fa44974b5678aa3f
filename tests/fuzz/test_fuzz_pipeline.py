"""Fuzzing the whole pipeline, dataset -> target -> store -> reports (issue 11 item 7).

No input crashes a run: lone surrogates, NUL bytes and other control characters, invalid
UTF-8, very long inputs and binary garbage, in the dataset and in the target's answers, are
stored (escaped where the encoding needs it) and reported in every format.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aichaos.config import Experiment
from aichaos.dataset import load_dataset
from aichaos.errors import DatasetError
from aichaos.session import run_experiment
from aichaos.store import ResultStore
from aichaos.targets import MockTarget, TargetRequest, TargetResponse

#: every code point, surrogates (category Cs) and controls included
ANY_CHAR = st.characters(codec=None, categories=None)
NASTY = st.one_of(
    st.text(ANY_CHAR, min_size=1, max_size=60),
    st.binary(min_size=1, max_size=60).map(lambda b: b.decode("latin-1")),  # binary garbage
    st.sampled_from(["\ud800", "\udfff lone", "\x00", "a\x00b", "\u202e rtl", "\ufeff",
                     "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ﬁ", "\r\n\t", "{{ input }}", "<script>x</script>",
                     "x" * 5000]),
)
FORMATS = ["terminal", "json", "html", "junit", "markdown"]


def experiment(dataset: Path, results: Path, perturb: bool) -> Experiment:
    resilience = {"perturbations": ["typo_keyboard", "homoglyph", "mojibake"],
                  "severity": [2], "limit": 2} if perturb else None
    return Experiment.model_validate({
        "title": "fuzz", "target": {"type": "mock"}, "dataset": str(dataset),
        "steady-state-hypothesis": None,
        "layers": {"capability": {"scorer": {"type": "contains"}},
                   "input_resilience": resilience},
        "report": {"formats": FORMATS, "dir": str(results)},
        "runtime": {"seed": 7, "concurrency": 1},
    })


def run_once(inputs: list[str], answers: list[str], expected: str, *,
             perturb: bool = True) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = root / "data.jsonl"
        rows = [{"id": f"c{i}", "input": text, "expected": [expected]}
                for i, text in enumerate(inputs)]
        dataset.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
        cases = load_dataset(dataset)
        assert [c.input for c in cases] == inputs

        def respond(request: TargetRequest) -> TargetResponse | str:
            return answers[len(request.input) % len(answers)]

        run = run_experiment(experiment(dataset, root / "res", perturb), results_dir=root / "res",
                             target=MockTarget(responder=respond), quiet=False)
        assert run.outcome.journal["status"] == "completed"
        names = {p.name for p in run.directory.iterdir()}
        assert {"journal.json", "report.json", "report.html", "junit.xml", "report.md"} <= names
        report = json.loads((run.directory / "report.json").read_text(encoding="utf-8"))
        assert report["scorecard"]["layers"][0]["measured"]
        store = ResultStore(f"sqlite:///{root / 'res' / 'aichaos.db'}", readonly=True)
        stored = store.cases(run.outcome.run_id, layer=1)
        assert {r["case_id"] for r in stored} == {c.id for c in cases}
        store.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs=st.lists(NASTY, min_size=1, max_size=3), answers=st.lists(NASTY, min_size=1,
       max_size=3), expected=NASTY)
def test_no_dataset_or_answer_text_crashes_the_run(inputs: list[str], answers: list[str],
                                                   expected: str) -> None:
    run_once(inputs, answers, expected)


def test_a_ten_megabyte_input_is_stored_and_reported() -> None:
    # layer 1 only: perturbing 10^7 characters is layer 2's cost, not the store's or reports'
    run_once(["refund? " + "x" * 10_000_000], ["5 business days"], "5 business days",
             perturb=False)


def test_a_dataset_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "data.yaml"
    bad.write_bytes(b"cases:\n  - {id: a, input: \"caf\xe9\"}\n")
    with pytest.raises(DatasetError, match=r"data.yaml: cannot read dataset: .utf-8. codec can.t decode byte 0xe9"):
        load_dataset(bad)
