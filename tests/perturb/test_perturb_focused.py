"""Focused tests: severity scaling, PII, format shifts, long input, transport, building."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
from typing import Any

import pytest

import aichaos.perturb as perturb
from aichaos.errors import DatasetError, PluginError
from aichaos.perturb import (
    Edit,
    apply_edits,
    build_perturbations,
    has_lone_surrogates,
    perturbations,
    to_transport,
)
from aichaos.perturb._chars import QWERTY_NEIGHBOURS

QUESTION = "How do I reset my password if I no longer have access to my email account?"
LONG = " ".join(f"word{i % 7}alpha" for i in range(400))  # 400 words, all typo-able


def test_public_names_sorted() -> None:
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, Classes, functions
    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert perturb.__all__ == sorted(perturb.__all__, key=key)
    for name in perturb.__all__:
        assert hasattr(perturb, name)


@pytest.mark.parametrize("name", ["typo_keyboard", "char_swap", "char_drop"])
def test_word_edit_rate_scales_with_severity(name: str) -> None:
    counts = [
        len(perturbations.create(name, severity=s, seed=1).apply(LONG).lineage) for s in (1, 2, 3)
    ]
    assert counts == [20, 60, 120]  # 5 / 15 / 30 % of 400 words
    words_changed = sum(
        a != b
        for a, b in zip(
            LONG.split(),
            perturbations.create(name, severity=3, seed=1).apply(LONG).text.split(),
            strict=True,
        )
    )
    assert words_changed == 120


def test_typo_uses_adjacent_keys() -> None:
    out = perturbations.create("typo_keyboard", severity=3, seed=5).apply(QUESTION)
    for edit in out.lineage:
        assert edit["to"].lower() in QWERTY_NEIGHBOURS[edit["from"].lower()]
        assert QUESTION[edit["pos"]] == edit["from"]


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


def test_pii_is_inserted_and_detectable() -> None:
    email = perturbations.create("pii_email", severity=3, seed=3).apply(QUESTION)
    found = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+\w", email.text)
    assert sorted(found) == sorted(e["value"] for e in email.lineage)
    assert len(found) == 3
    assert QUESTION in email.text or QUESTION.replace("?", "? ") in email.text

    card = perturbations.create("pii_card", severity=2, seed=3).apply(QUESTION)
    values = [e["value"] for e in card.lineage]
    assert len(values) == 2
    for v in values:
        assert v in card.text
        assert 12 <= sum(ch.isdigit() for ch in v) <= 19
        assert _luhn_ok(v)
    assert {e["kind"] for e in card.lineage} == {"card"}


def test_pii_locales_are_honoured_and_validated() -> None:
    p = perturbations.create("pii_address", severity=3, seed=9, locales=["ja_JP"])
    out = p.apply(QUESTION)
    assert {e["locale"] for e in out.lineage} == {"ja_JP"}
    assert any("\u3040" <= ch <= "\u9fff" for ch in out.text)  # kana/kanji in the address
    with pytest.raises(PluginError, match="locales must be Faker locales"):
        perturbations.create("pii_email", locales=["xx_NOPE"])


@pytest.mark.parametrize("severity", [1, 2, 3])
def test_format_json_parses_and_keeps_the_question(severity: int) -> None:
    text = QUESTION + ' "quoted" \\ back\nslash'
    out = perturbations.create("format_json", severity=severity, seed=2).apply(text)
    doc = json.loads(out.text)

    def strings(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return [node] if isinstance(node, str) else []

    assert text in strings(doc)


@pytest.mark.parametrize("severity", [1, 2, 3])
def test_format_csv_and_html_keep_the_question(severity: int) -> None:
    text = 'Hi, "team"; why is the total 1,200?'
    out = perturbations.create("format_csv", severity=severity, seed=2).apply(text).text
    rows = list(csv.reader(io.StringIO(out), delimiter=";" if severity == 3 else ","))
    assert any(text in row for row in rows)
    page = perturbations.create("format_html", severity=severity, seed=2).apply(text).text
    assert text in html.unescape(page)
    assert page.count("<") >= 2


def test_long_input_hits_the_target_length() -> None:
    p = perturbations.create("long_input", severity=1, seed=0, context_tokens=1000, factor=1.0)
    out = p.apply(QUESTION)
    assert len(out.text) == 4000
    assert out.text.endswith("\n\n" + QUESTION)
    assert out.lineage[0]["target_tokens"] == 1000
    sizes = [
        len(perturbations.create("long_input", severity=s, context_tokens=512).apply(QUESTION).text)
        for s in (1, 2, 3)
    ]
    assert sizes == [1024, 1844, 3072]  # 0.5 / 0.9 / 1.5 x 512 tokens x 4 chars
    both = perturbations.create("long_input", context_tokens=100, position="both").apply("Q?")
    assert "\nQ?\n" in both.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"context_tokens": 0}, "context_tokens must be >= 1, got 0"),
        ({"factor": -1.0}, "factor must be > 0, got -1.0"),
        ({"position": "middle"}, "position must be before, after or both, got 'middle'"),
        ({"severity": 4}, "severity must be 1, 2 or 3, got 4"),
        ({"bogus": 1}, "unknown argument(s) bogus"),
    ],
)
def test_bad_arguments_give_one_clear_line(args: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginError, match=re.escape(message)):
        perturbations.create("long_input", **args)


def test_lone_surrogates_and_the_transport() -> None:
    out = perturbations.create("lone_surrogate", severity=3, seed=4).apply(QUESTION)
    assert has_lone_surrogates(out.text)
    assert out.tags == ("transport_sensitive",)
    with pytest.raises(UnicodeEncodeError):
        out.text.encode("utf-8")
    safe = to_transport(out.text)
    assert not has_lone_surrogates(safe) and safe.count("\ufffd") == 8
    assert len(safe) == len(out.text)
    safe.encode("utf-8")
    wire = json.dumps({"content": to_transport(out.text, "escape")})  # ensure_ascii=True
    assert wire.isascii() and json.loads(wire)["content"] == out.text


def test_unicode_plugins_do_what_they_say() -> None:
    full = perturbations.create("fullwidth", severity=3).apply(QUESTION).text
    assert full != QUESTION and unicodedata.normalize("NFKC", full) == QUESTION
    homo = perturbations.create("homoglyph", severity=3).apply(QUESTION).text
    assert len(homo) == len(QUESTION) and not homo.isascii()
    zw = perturbations.create("zero_width", severity=2).apply(QUESTION).text
    assert "".join(ch for ch in zw if unicodedata.category(ch) != "Cf") == QUESTION
    bidi = perturbations.create("bidi_control", severity=3).apply(QUESTION).text
    assert bidi.startswith("\u202e")
    moji = perturbations.create("mojibake", severity=3).apply("café don’t").text
    assert "cafÃ©" in moji and "donâ€™t" in moji


def test_non_answer_inputs_are_tagged() -> None:
    for name in ("empty", "whitespace_only", "gibberish"):
        out = perturbations.create(name, severity=2).apply(QUESTION)
        assert out.expects_clarification and out.changes_meaning
    assert perturbations.create("empty").apply(QUESTION).text == ""
    assert perturbations.create("whitespace_only", severity=3).apply(QUESTION).text.isspace()
    assert not perturbations.create("typo_keyboard").apply(QUESTION).expects_clarification
    assert perturbations.get("empty").tags == ("expects_clarification",)


def test_documented_identity_cases() -> None:
    assert perturbations.create("empty").apply("").text == ""
    assert perturbations.create("repeat").apply("").text == ""
    assert perturbations.create("truncate").apply("").text == ""
    assert perturbations.create("casing").apply("123 ?").text == "123 ?"


def test_build_perturbations() -> None:
    built = build_perturbations(
        "all", severities=[1, 3], seed=42, options={"long_input": {"context_tokens": 64}}
    )
    assert len(built) == 2 * len(perturbations)
    long_ = [p for p in built if p.name == "long_input"]
    assert long_[0].spec == ("long_input", {"severity": 1, "seed": 42, "context_tokens": 64})
    two = build_perturbations(["slang", "emoji"], severities=[2], seed=1)
    assert [(p.name, p.severity, p.seed) for p in two] == [("slang", 2, 1), ("emoji", 2, 1)]
    with pytest.raises(PluginError, match="unknown perturbation 'nope'"):
        build_perturbations(["nope"])
    with pytest.raises(PluginError, match="options given for unselected name"):
        build_perturbations(["slang"], options={"emoji": {}})


def test_non_string_input_is_a_dataset_error() -> None:
    with pytest.raises(DatasetError, match="input must be a string, got int"):
        perturbations.create("slang").apply(42)  # type: ignore[arg-type]


def test_seeds_change_outputs() -> None:
    outs = {
        perturbations.create("typo_keyboard", severity=3, seed=s).apply(QUESTION).text
        for s in range(5)
    }
    assert len(outs) == 5


def test_apply_edits_skips_overlaps_and_records_lineage() -> None:
    out, lineage = apply_edits(
        "abcdef",
        [Edit(1, 3, "X", "a"), Edit(2, 4, "Y", "b"), Edit(6, 6, "!", "c"), Edit(0, 0, ">", "d")],
    )
    assert out == ">aXdef!"
    assert [e["op"] for e in lineage] == ["d", "a", "c"]
    assert lineage[1] == {"op": "a", "pos": 1, "from": "bc", "to": "X"}
