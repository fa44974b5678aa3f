"""Loader for the frozen held-out detector sets in ``tests/data/detectors/heldout/``.

Each file ``<kind>.yaml`` is a mapping ``{kind, frozen, label_rule, written_by, items}``; ``items``
is a list of labelled examples whose fields depend on the detector (see ``REQUIRED``). The label
definitions and provenance are in ``tests/data/detectors/README.md``. The sets are held out: they
are for measuring detectors, never for tuning them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

HELDOUT_DIR = Path(__file__).resolve().parent / "data" / "detectors" / "heldout"

#: Detector kinds with a held-out file, in a stable order.
KINDS = ("hallucination", "abstention", "clarification", "injection", "leak", "equivalence")

#: Fields every item must carry, per kind, besides ``id``, ``source`` and ``label``.
REQUIRED: dict[str, tuple[str, ...]] = {
    "hallucination": ("context", "question", "response"),
    "abstention": ("question", "response"),
    "clarification": ("question", "response"),
    "injection": ("attack", "canary", "demanded_behaviour", "response"),
    "leak": ("system_prompt", "canaries", "user_message", "response"),
    "equivalence": ("question", "reference", "response"),
}

#: Optional descriptive fields (never used as inputs to a detector).
OPTIONAL = ("domain", "note", "delivery")

#: Where an item's response came from: written by hand, or a real SmolLM2-135M output.
SOURCES = ("written", "smollm2")

#: Issue 11 asks for at least this many positives and negatives per held-out file.
MIN_PER_CLASS = 50


class HeldoutError(ValueError):
    """A held-out file is missing, malformed, or unbalanced; the message names file and item."""


def _text(item: Mapping[str, Any], field: str, where: str, *, nullable: bool = False) -> None:
    value = item[field]
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise HeldoutError(f"{where}: field {field!r} must be a string, got {type(value).__name__}")
    # questions may be empty on purpose (empty user input); everything else must say something
    if not value.strip() and field != "question":
        raise HeldoutError(f"{where}: field {field!r} is empty")


def _check_item(kind: str, item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise HeldoutError(f"{where}: an item must be a mapping, got {type(item).__name__}")
    required = ("id", "source", "label", *REQUIRED[kind])
    missing = [f for f in required if f not in item]
    if missing:
        raise HeldoutError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(item) - set(required) - set(OPTIONAL))
    if unknown:
        raise HeldoutError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not isinstance(item["label"], bool):
        raise HeldoutError(f"{where}: label must be true or false, got {item['label']!r}")
    if item["source"] not in SOURCES:
        raise HeldoutError(f"{where}: source must be one of {', '.join(SOURCES)}, got {item['source']!r}")
    for field in REQUIRED[kind]:
        if field == "canaries":
            canaries = item[field]
            if not (isinstance(canaries, list) and canaries
                    and all(isinstance(c, str) and c for c in canaries)):
                raise HeldoutError(f"{where}: canaries must be a non-empty list of strings")
            absent = [c for c in canaries if c not in item["system_prompt"]]
            if absent:
                raise HeldoutError(f"{where}: canary {absent[0]!r} does not occur in system_prompt")
        else:
            _text(item, field, where, nullable=field == "canary")
    if kind == "injection" and item["canary"] is not None and item["canary"] not in item["attack"]:
        raise HeldoutError(f"{where}: canary {item['canary']!r} does not occur in attack")
    for field in OPTIONAL:
        if field in item:
            _text(item, field, where, nullable=True)


def load_heldout(kind: str, *, directory: Path = HELDOUT_DIR,
                 min_per_class: int = MIN_PER_CLASS) -> list[dict[str, Any]]:
    """Load and validate the held-out set for one detector.

    Args:
        kind: one of ``KINDS``.
        directory: folder holding ``<kind>.yaml`` (the committed sets by default).
        min_per_class: least number of items labelled true, and of items labelled false.

    Returns:
        The items, in file order, each a dict with ``id``, ``source``, ``label`` and the
        fields ``REQUIRED[kind]`` (plus optional ``domain``, ``note``, ``delivery``).

    Raises:
        HeldoutError: unknown kind, missing or unparsable file, wrong ``kind`` header, an item
            with a missing/unknown/mistyped field, a duplicate id, or fewer than
            ``min_per_class`` positives or negatives. The message names the file and item.
    """
    if kind not in REQUIRED:
        raise HeldoutError(f"unknown detector kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = directory / f"{kind}.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HeldoutError(f"{path}: no such held-out file") from exc
    except yaml.YAMLError as exc:
        raise HeldoutError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise HeldoutError(f"{path}: expected a mapping with an 'items' list")
    if doc.get("kind") != kind:
        raise HeldoutError(f"{path}: header kind is {doc.get('kind')!r}, expected {kind!r}")
    items: list[dict[str, Any]] = doc["items"]
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{path}: item {index}"
        if isinstance(item, dict) and "id" in item:
            where = f"{path}: item {index} (id {item['id']!r})"
        _check_item(kind, item, where)
        if item["id"] in seen:
            raise HeldoutError(f"{where}: duplicate id")
        seen.add(item["id"])
    positives = sum(1 for item in items if item["label"])
    negatives = len(items) - positives
    if positives < min_per_class or negatives < min_per_class:
        raise HeldoutError(f"{path}: {positives} positives and {negatives} negatives; "
                           f"need at least {min_per_class} of each")
    return items
