"""Every failed check says what usually fixes it (issue 11 item 12)."""

from aichaos.results import Check, hint_for


def test_hints_match_by_the_most_specific_pattern() -> None:
    assert "Retry-After" in hint_for("integration.llm_rate_limit.retry_after_honoured")
    assert "retry budget" in hint_for("integration.crm_down.retry_amplification")
    assert "canary" in hint_for("safety.prompt_injection_indirect")
    assert hint_for("safety.some_new_probe") == "add the guardrail the probe names and re-run " \
        "its cases"
    assert hint_for("no.such.check") == ""


def test_a_check_gets_its_hint_from_its_name_unless_given() -> None:
    assert "primary" in Check("integration.llm_down.recovered", False, 0.0).hint
    assert Check("scale.saturation", False, 1.0, hint="buy a GPU").hint == "buy a GPU"


def test_every_check_the_suites_emit_has_a_hint() -> None:
    # the check names in the probe suites' source, with a toxic name filled in
    import re
    from pathlib import Path

    import aichaos.probes as probes

    names = set()
    for path in Path(probes.__file__).parent.glob("*.py"):
        for name in re.findall(r'Check\(\s*f?"([a-z_0-9.{}]+)"', path.read_text()):
            names.add(re.sub(r"\{[^}]+\}", "x", name))
    assert len(names) > 15
    missing = sorted(n for n in names if not hint_for(n))
    assert missing == [], missing
