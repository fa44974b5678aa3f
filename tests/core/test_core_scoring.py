"""aichaos.scoring: text scorers, the scorer registry, confidence intervals and PII masking."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import pytest

from aichaos.config import ScorerSpec
from aichaos.dataset import Case
from aichaos.errors import PluginError
from aichaos.scoring import (
    ContainsScorer,
    ExactScorer,
    JsonSchemaScorer,
    RegexScorer,
    SemanticScorer,
    build_scorer,
    find_pii,
    luhn_valid,
    mask_pii,
    mean_ci,
    normalize,
    percentile,
    proportion_ci,
    scorers,
)


def case(expected: Any) -> Case:
    return Case(id="c", input="q", expected=expected)


# ------------------------------------------------------------------ contains / exact


def test_contains_any_case_insensitive() -> None:
    expected = case(["5 days", "five business days"])
    s = ContainsScorer().score("Refunds take FIVE Business Days.", expected)
    assert (s.value, s.passed) == (1.0, True)
    assert "five business days" in s.explanation


def test_contains_nfkc_normalises_fullwidth_and_ligatures() -> None:
    # fullwidth letters and the "ﬁ" ligature fold to plain ASCII under NFKC
    out = "Your refund arrives in ＦＩＶＥ business days"
    s = ContainsScorer().score(out, case("refund arrives in five"))
    assert s.passed and s.value == 1.0
    assert ContainsScorer().score("within ﬁve days", case("Five Days")).passed
    assert not ContainsScorer().score("within ﬁve days", case("fivee")).passed


def test_contains_numbers_match_whole_numbers_only() -> None:
    expected = case(["5 business days", "10%"])
    assert not ContainsScorer().score("contact us after 15 business days", expected).passed
    assert not ContainsScorer().score("a fee of 1.10% applies", expected).passed
    assert not ContainsScorer().score("a fee of 10.5% applies", case("fee of 10")).passed
    assert ContainsScorer().score("within 5 business days.", expected).passed
    assert ContainsScorer().score("(5 business days)", expected).passed
    assert ContainsScorer().score("a 10% fee", expected).passed
    assert ContainsScorer().score("it costs $10.", case("$10")).passed  # a sentence's full stop


def test_contains_miss() -> None:
    s = ContainsScorer().score("I don't know.", case(["30 days", "thirty days"]))
    assert (s.value, s.passed) == (0.0, False)
    assert s.explanation == "none of 2 expected fragments"


def test_contains_all_partial_credit() -> None:
    s = ContainsScorer(all=True).score("a and b", case(["A", "B", "zzz"]))
    assert s.passed is False
    assert s.value == pytest.approx(2 / 3)
    s = ContainsScorer(all=True).score("a, b and ZZZ", case(["A", "B", "zzz"]))
    assert (s.value, s.passed) == (1.0, True)


def test_contains_without_expected() -> None:
    s = ContainsScorer().score("anything", case(None))
    assert (s.value, s.passed, s.explanation) == (0.0, False, "case has no expected answer")


def test_normalize() -> None:
    assert normalize("  “Ｐａｒｉｓ”\t\n  IS nice!! ") == "“paris” is nice"
    assert normalize("'Straße.'") == "strasse"


def test_exact_after_normalisation() -> None:
    assert ExactScorer().score("  PARIS. ", case(["London", "paris"])).passed
    s = ExactScorer().score("Paris, France", case("paris"))
    assert (s.value, s.passed) == (0.0, False)


# ------------------------------------------------------------------ regex


def test_regex_argument_pattern_case_insensitive() -> None:
    s = RegexScorer(pattern=r"\b\d+ days\b").score("within 5 DAYS", case(None))
    assert (s.value, s.passed) == (1.0, True)
    assert not RegexScorer(pattern=r"^\d+$").score("five", case(None)).passed


def test_regex_expected_as_pattern() -> None:
    scorer = RegexScorer()
    assert scorer.score("your order NW-12345 shipped", case([r"xyz", r"NW-\d{5}"])).passed
    assert not scorer.score("your order NW-123 shipped", case(r"NW-\d{5}")).passed


def test_regex_bad_pattern_is_plugin_error() -> None:
    with pytest.raises(PluginError, match="regex"):
        try:
            build_scorer(ScorerSpec(type="regex", pattern="(unclosed"))
        except PluginError:
            raise
        except Exception as exc:
            raise AssertionError(
                "BUG: an invalid regex escapes build_scorer as "
                f"{type(exc).__module__}.{type(exc).__name__} instead of PluginError"
            ) from exc


# ------------------------------------------------------------------ json schema

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_json_schema_embedded_in_prose_and_fence() -> None:
    out = 'Sure! Here it is:\n```json\n{"n": 3, "extra": [1, 2]}\n```\nAnything else?'
    s = JsonSchemaScorer().score(out, case(SCHEMA))
    assert (s.value, s.passed) == (1.0, True)


def test_json_schema_argument_overrides_expected() -> None:
    s = JsonSchemaScorer(schema={"type": "array"}).score("[1, 2]", case(SCHEMA))
    assert s.passed


def test_json_schema_violation() -> None:
    s = JsonSchemaScorer().score('{"n": "three"}', case(SCHEMA))
    assert (s.value, s.passed) == (0.0, False)
    assert s.explanation == "schema violation: 'three' is not of type 'integer'"


def test_json_schema_not_json() -> None:
    s = JsonSchemaScorer().score("n is three {oops}", case(SCHEMA))
    assert (s.value, s.passed, s.explanation) == (0.0, False, "answer is not JSON")


def test_json_schema_without_schema() -> None:
    s = JsonSchemaScorer().score('{"n": 1}', case("text"))
    assert (s.passed, s.explanation) == (False, "no JSON Schema given")


# ------------------------------------------------------------------ registry


def test_build_scorer_records_spec() -> None:
    scorer = build_scorer(ScorerSpec(type="contains", all=True))
    assert isinstance(scorer, ContainsScorer) and scorer.all is True
    assert scorer.spec == ("contains", {"all": True})


def test_build_scorer_default_spec_is_contains() -> None:
    assert isinstance(build_scorer(ScorerSpec()), ContainsScorer)


def test_build_scorer_unknown_name_lists_known() -> None:
    with pytest.raises(PluginError) as info:
        build_scorer(ScorerSpec(type="fuzzy"))
    assert str(info.value) == f"unknown scorer 'fuzzy'; known: {', '.join(scorers.names())}"
    for name in ("contains", "exact", "json_schema", "regex", "semantic"):
        assert name in str(info.value)


def test_build_scorer_unknown_argument() -> None:
    with pytest.raises(PluginError) as info:
        build_scorer(ScorerSpec(type="contains", any=True))
    assert str(info.value) == "scorer 'contains': unknown argument(s) any; accepted: all"


def test_semantic_threshold_out_of_range_is_plugin_error() -> None:
    # the constructor validates before any model is loaded
    with pytest.raises(PluginError, match=r"threshold must be within 0\.\.1, got 1\.5"):
        build_scorer(ScorerSpec(type="semantic", threshold=1.5))
    assert isinstance(build_scorer(ScorerSpec(type="semantic", threshold=0.4)), SemanticScorer)


# ------------------------------------------------------------------ statistics


def wilson(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval, written out (Wilson 1927)."""
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("x", "n"), [(45, 83), (0, 10), (10, 10), (1, 3), (97, 100)])
def test_proportion_ci_matches_wilson(x: int, n: int) -> None:
    est = proportion_ci(x, n)
    low, high = wilson(x, n)
    assert est.value == pytest.approx(x / n)
    assert est.low == pytest.approx(low, abs=1e-9)
    assert est.high == pytest.approx(high, abs=1e-9)
    assert est.n == n


def test_proportion_ci_known_value_45_of_83() -> None:
    est = proportion_ci(45, 83)
    assert (round(est.low, 4), round(est.high, 4)) == (0.4355, 0.6451)


def test_proportion_ci_confidence_widens() -> None:
    narrow, wide = proportion_ci(45, 83, 0.90), proportion_ci(45, 83, 0.99)
    assert wide.low < narrow.low and wide.high > narrow.high
    assert narrow.low == pytest.approx(wilson(45, 83, 0.90)[0], abs=1e-9)


@pytest.mark.parametrize(("x", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_proportion_ci_rejects_bad_counts(x: int, n: int) -> None:
    with pytest.raises(ValueError, match="need 0 <= successes <= n"):
        proportion_ci(x, n)


def test_mean_ci_student_t() -> None:
    est = mean_ci([1.0, 2.0, 3.0, 4.0])
    sem = math.sqrt(sum((v - 2.5) ** 2 for v in (1, 2, 3, 4)) / 3) / 2
    t_975_df3 = 3.182446305284263
    assert est.value == 2.5 and est.n == 4
    assert est.low == pytest.approx(2.5 - t_975_df3 * sem, abs=1e-9)
    assert est.high == pytest.approx(2.5 + t_975_df3 * sem, abs=1e-9)
    assert est.as_dict() == {"value": 2.5, "ci_low": est.low, "ci_high": est.high, "n": 4}


def test_mean_ci_degenerate_cases() -> None:
    one = mean_ci([0.7])
    assert (one.value, one.low, one.high, one.n) == (0.7, 0.7, 0.7, 1)
    flat = mean_ci([0.5, 0.5, 0.5])
    assert (flat.low, flat.high) == (0.5, 0.5)
    with pytest.raises(ValueError):
        mean_ci([])


def test_percentile_linear_interpolation() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 90) == pytest.approx(3.7)
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 95) is None


# ------------------------------------------------------------------ PII


@pytest.mark.parametrize(("text", "masked"), [
    ("mail me at jane.doe+x@example.co.uk today", "mail me at <EMAIL> today"),
    ("call +1 415-555-0132 now", "call <PHONE> now"),
    ("call (020) 7946 0958", "call <PHONE>"),
    ("card 4111 1111 1111 1111 ok", "card <CREDIT_CARD> ok"),
    ("card 4111-1111-1111-1111", "card <CREDIT_CARD>"),
    ("card 4111111111111111", "card <CREDIT_CARD>"),
    ("key sk-abcdefghijklmnop1234 ok", "key <API_KEY> ok"),
    ("key sk-ant-api03-abcdefghijklmnop", "key <API_KEY>"),
])
def test_mask_pii(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize("text", [
    "card 4111111111111112",
    "card 4111 1111 1111 1112",
])
def test_luhn_invalid_card_not_masked(text: str) -> None:
    assert mask_pii(text) == text, (
        "BUG: a Luhn-invalid card number is (partly) masked, here by the phone pattern "
        f"matching digit groups inside it: {mask_pii(text)!r}"
    )


def test_luhn_valid() -> None:
    assert luhn_valid("4111 1111 1111 1111")
    assert luhn_valid("5500-0000-0000-0004")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("79927398713")  # Luhn-valid but shorter than 13 digits


@pytest.mark.parametrize("text", [
    "order NW-10234 shipped",
    "delivered on 2026-12-03",
    "it costs $49.99",
    "order NW-10234 placed 2026-12-03 for $49.99 (qty 2)",
])
def test_business_values_not_masked(text: str) -> None:
    assert mask_pii(text) == text
    assert find_pii(text) == []


def test_configured_secret_masked_and_found() -> None:
    text = "the password is hunter2x, again: hunter2x"
    assert mask_pii(text, secrets=["hunter2x"]) == "the password is <SECRET>, again: <SECRET>"
    kinds = [(m.kind, m.start, m.end, m.text) for m in find_pii(text, secrets=["hunter2x"])]
    assert kinds == [("secret", 16, 24, "hunter2x"), ("secret", 33, 41, "hunter2x")]


def test_short_secret_ignored() -> None:
    assert mask_pii("abc abc", secrets=["abc"]) == "abc abc"


def test_find_pii_orders_and_does_not_overlap() -> None:
    text = "jane@example.com / sk-abcdefghijklmnop1234"
    found = find_pii(text)
    assert [m.kind for m in found] == ["email", "api_key"]
    assert found[0].end <= found[1].start
    assert text[found[1].start:found[1].end] == "sk-abcdefghijklmnop1234"
