"""Contract tests walking the perturbation registry: every plugin, every severity.

A new perturbation is checked here without anyone writing a new test (STYLE.md §3).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aichaos.perturb import SEVERITIES, Perturbation, perturbations

NORMAL = (
    "Hi, how do I reset my password? I no longer have access to my email account, "
    "and the link expired."
)
NAMES = perturbations.names()
CASES = [(name, sev) for name in NAMES for sev in SEVERITIES]

# Any Unicode string, lone surrogates, controls, combining marks and emoji included.
ANY_TEXT = st.one_of(
    st.text(max_size=120),
    st.text(
        alphabet=st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "M", "L", "So"]),
        max_size=120,
    ),
    st.text(
        alphabet=st.sampled_from(" \n\t.?!,'\"-|<>&;aeiosAEIOU0123456789é😀\u200b"), max_size=300
    ),
)


def make(name: str, severity: int, seed: int = 7) -> Perturbation:
    return perturbations.create(name, severity=severity, seed=seed)


def test_registry_covers_the_issue() -> None:
    assert len(perturbations) >= 24
    for info in perturbations:
        assert info.layer == 2
        assert info.summary
        assert getattr(info.factory, "source", ""), info.name
        assert info.factory.__doc__, info.name


@pytest.mark.parametrize(("name", "severity"), CASES)
def test_deterministic_under_seed(name: str, severity: int) -> None:
    a = make(name, severity).apply(NORMAL)
    b = make(name, severity).apply(NORMAL)
    assert a == b
    assert (a.name, a.severity, a.seed, a.original) == (name, severity, 7, NORMAL)


@pytest.mark.parametrize(("name", "severity"), CASES)
def test_changes_a_normal_input(name: str, severity: int) -> None:
    out = make(name, severity).apply(NORMAL)
    assert out.text != NORMAL
    assert out.lineage, "a change must be recorded in the lineage"


@pytest.mark.parametrize(("name", "severity"), CASES)
def test_within_declared_length_bounds(name: str, severity: int) -> None:
    p = make(name, severity)
    lo, hi = p.length_bounds(len(NORMAL))
    assert lo <= len(p.apply(NORMAL).text) <= hi


@pytest.mark.parametrize(("name", "severity"), CASES)
def test_spec_replays_exactly(name: str, severity: int) -> None:
    p = make(name, severity, seed=123)
    spec_name, args = p.spec
    again = perturbations.create(spec_name, **args)
    assert again.apply(NORMAL).text == p.apply(NORMAL).text
    # the record is JSON-ready (lone surrogates survive as \\ud83d escapes)
    record = p.apply(NORMAL).to_dict()
    assert json.loads(json.dumps(record)) == record


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: the suite stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=ANY_TEXT, severity=st.sampled_from(SEVERITIES), seed=st.integers(0, 2**63))
def test_never_raises_on_any_unicode(name: str, text: str, severity: int, seed: int) -> None:
    p = perturbations.create(name, severity=severity, seed=seed)
    out = p.apply(text)
    assert isinstance(out.text, str)
    lo, hi = p.length_bounds(len(text))
    assert lo <= len(out.text) <= hi, (len(text), len(out.text), lo, hi)
    assert p.apply(text) == out
