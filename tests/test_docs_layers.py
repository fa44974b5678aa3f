"""Every layer has a docs page that ends with how to read its verdict and a worked example
(a real command with an excerpt of its output in a code block)."""

from __future__ import annotations

import re

import pytest

from tests_support import ROOT

DOCS = ROOT / "docs"
LAYER_PAGES = {
    1: ["capability.md"],
    2: ["scoring.md", "perturbations.md"],
    3: ["integration.md"],
    4: ["safety.md"],
    5: ["observability.md"],
    6: ["load.md"],
}
PAGES = sorted({p for pages in LAYER_PAGES.values() for p in pages})


def _section(text: str, heading: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"no '## {heading}' section"
    return m.group(1)


def test_every_layer_has_a_page() -> None:
    assert set(LAYER_PAGES) == {1, 2, 3, 4, 5, 6}
    for pages in LAYER_PAGES.values():
        for page in pages:
            assert (DOCS / page).is_file(), page


@pytest.mark.parametrize("page", PAGES)
def test_page_ends_with_how_to_read_and_a_worked_example(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[-2:] == ["How to read this verdict", "Worked example"], headings
    assert len(_section(text, "How to read this verdict").split()) >= 60
    example = _section(text, "Worked example")
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", example, re.M | re.S)
    assert blocks, f"{page}: the worked example has no code block"
    commands = [line for _, body in blocks for line in body.splitlines()
                if line.startswith("$ ")]
    assert any("aichaos" in c or "python" in c for c in commands), commands
    # an excerpt of output follows the command: more lines than commands in the blocks
    body_lines = [line for _, body in blocks for line in body.splitlines() if line.strip()]
    assert len(body_lines) > len(commands) + 2
    assert "PLACEHOLDER" not in text


def test_integration_page_covers_what_exists() -> None:
    from aichaos.probes._integration import OUTCOMES

    text = (DOCS / "integration.md").read_text(encoding="utf-8")
    for heading in ("Phases", "Outcome classes", "Checks and how each is scored",
                    "Declaring fallbacks", "Reading the outcome matrix"):
        assert f"## {heading}" in text, heading
    for outcome in OUTCOMES:
        assert f"| `{outcome}` |" in text, outcome
    for check in ("exercised", "success_rate", "recovered", "retry_amplification",
                  "retry_after_honoured", "quota_not_retried", "failover", "rollback"):
        assert f"integration.NAME.{check}" in text or f"integration.{check}" in text, check


def test_the_tutorial_exists_and_uses_the_example_files() -> None:
    text = (DOCS / "tutorial-gateway.md").read_text(encoding="utf-8")
    for needed in ("examples/gateway/gateway.py", "examples/gateway/experiment.yaml",
                   "aichaos run examples/gateway/experiment.yaml", "extra_body",
                   "--watch-traffic"):
        assert needed in text, needed
    assert (ROOT / "examples" / "gateway" / "gateway.py").is_file()
