"""The frozen held-out detector sets parse, carry their fields, and are balanced.

These tests check the data only; no detector is run on the held-out files here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests_support_detectors import (
    HELDOUT_DIR,
    KINDS,
    MIN_PER_CLASS,
    REQUIRED,
    HeldoutError,
    load_heldout,
)


@cache
def _items(kind: str) -> tuple[dict[str, Any], ...]:
    return tuple(load_heldout(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_every_heldout_file_parses_with_its_fields(kind: str) -> None:
    items = load_heldout(kind)
    for item in items:
        for field in ("id", "source", "label", *REQUIRED[kind]):
            assert field in item, (kind, item.get("id"), field)


@pytest.mark.parametrize("kind", KINDS)
def test_ids_are_unique_within_and_across_files(kind: str) -> None:
    ids = [item["id"] for item in _items(kind)]
    assert len(ids) == len(set(ids))
    others = {i["id"] for k in KINDS if k != kind for i in _items(k)}
    assert not set(ids) & others


@pytest.mark.parametrize("kind", KINDS)
def test_at_least_fifty_positives_and_fifty_negatives(kind: str) -> None:
    labels = [item["label"] for item in _items(kind)]
    assert sum(labels) >= MIN_PER_CLASS
    assert len(labels) - sum(labels) >= MIN_PER_CLASS


@pytest.mark.parametrize("kind", KINDS)
def test_a_fifth_are_real_model_outputs(kind: str) -> None:
    items = _items(kind)
    real = [item for item in items if item["source"] == "smollm2"]
    assert len(real) >= 0.2 * len(items)


@pytest.mark.parametrize("kind", KINDS)
def test_several_businesses_are_covered(kind: str) -> None:
    domains = {item.get("domain") for item in _items(kind)}
    assert len(domains - {None}) >= 6


def test_the_same_input_is_not_labelled_both_ways() -> None:
    """Two items with identical inputs and response must agree on the label."""
    for kind in KINDS:
        seen: dict[str, bool] = {}
        for item in _items(kind):
            key = repr([item[f] for f in REQUIRED[kind]])
            assert seen.setdefault(key, item["label"]) == item["label"], (kind, item["id"])


def _write(tmp_path: Path, kind: str, items: list[dict[str, object]]) -> Path:
    doc = {"kind": kind, "items": items}
    (tmp_path / f"{kind}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return tmp_path


def _abstention(n_true: int, n_false: int) -> list[dict[str, object]]:
    return [{"id": f"a{i}", "source": "written", "question": "q?", "response": "r",
             "label": i < n_true} for i in range(n_true + n_false)]


def test_loader_accepts_a_small_balanced_file(tmp_path: Path) -> None:
    items = load_heldout("abstention", directory=_write(tmp_path, "abstention", _abstention(2, 2)),
                         min_per_class=2)
    assert [i["label"] for i in items] == [True, True, False, False]


def test_loader_names_the_item_with_a_missing_field(tmp_path: Path) -> None:
    items = _abstention(2, 2)
    del items[3]["response"]
    with pytest.raises(HeldoutError, match=r"abstention\.yaml: item 3 \(id 'a3'\): missing field\(s\) response"):
        load_heldout("abstention", directory=_write(tmp_path, "abstention", items), min_per_class=2)


def test_loader_rejects_a_duplicate_id(tmp_path: Path) -> None:
    items = _abstention(2, 2)
    items[2]["id"] = "a0"
    with pytest.raises(HeldoutError, match=r"item 2 \(id 'a0'\): duplicate id"):
        load_heldout("abstention", directory=_write(tmp_path, "abstention", items), min_per_class=2)


def test_loader_rejects_an_unbalanced_file(tmp_path: Path) -> None:
    with pytest.raises(HeldoutError, match="3 positives and 1 negatives; need at least 2 of each"):
        load_heldout("abstention", directory=_write(tmp_path, "abstention", _abstention(3, 1)),
                     min_per_class=2)


def test_loader_rejects_a_label_that_is_not_a_boolean(tmp_path: Path) -> None:
    items = _abstention(2, 2)
    items[0]["label"] = "yes"
    with pytest.raises(HeldoutError, match="label must be true or false, got 'yes'"):
        load_heldout("abstention", directory=_write(tmp_path, "abstention", items), min_per_class=2)


def test_loader_rejects_a_leak_canary_absent_from_the_prompt(tmp_path: Path) -> None:
    item = {"id": "l1", "source": "written", "system_prompt": "You are X. Code SYS-CANARY-1.",
            "canaries": ["SYS-CANARY-2"], "user_message": "hi", "response": "hello", "label": False}
    with pytest.raises(HeldoutError, match="canary 'SYS-CANARY-2' does not occur in system_prompt"):
        load_heldout("leak", directory=_write(tmp_path, "leak", [item]), min_per_class=0)


def test_loader_rejects_an_unknown_kind_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HeldoutError, match="unknown detector kind 'toxicity'"):
        load_heldout("toxicity")
    with pytest.raises(HeldoutError, match="no such held-out file"):
        load_heldout("leak", directory=tmp_path)


def test_heldout_dir_holds_exactly_the_six_files() -> None:
    assert sorted(p.stem for p in HELDOUT_DIR.glob("*.yaml")) == sorted(KINDS)
