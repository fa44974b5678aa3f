"""The perturbation interface, its registry and the shared edit machinery.

A perturbation turns one clean prompt into one messy prompt, deterministically: the same
``(text, severity, seed)`` always gives the same output, because every plugin draws from a
``random.Random`` seeded by :func:`derive_seed` (never from the global generator). Each
output records its *lineage*: the list of edits that turned the original into the perturbed
text, so a report can show exactly what changed and a stored run can be replayed.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from aichaos._registry import Registry
from aichaos.errors import DatasetError, PluginError

SEVERITIES = (1, 2, 3)
"""Severity levels every perturbation accepts: 1 mild, 2 moderate, 3 heavy."""

EXPECTS_CLARIFICATION = "expects_clarification"
"""Tag: the scorer should expect a clarification or polite refusal, not an answer."""

TRANSPORT_SENSITIVE = "transport_sensitive"
"""Tag: the output may hold code points a UTF-8 transport cannot carry (see ``to_transport``)."""

WORD_RE = re.compile(r"\w+")
"""A word: a maximal run of Unicode word characters (letters, digits, underscore)."""

Lineage = list[dict[str, Any]]


@dataclass(frozen=True)
class Perturbed:
    """One perturbed input and how it was made.

    Attributes:
        text: the perturbed prompt to send.
        original: the clean prompt it came from.
        name: registered name of the perturbation.
        severity: 1..3.
        seed: the run seed the perturbation was built with (not the derived per-text seed).
        lineage: edits applied, in order of position in ``original``, e.g.
            ``{"op": "typo", "pos": 12, "from": "a", "to": "s"}`` (``pos`` indexes the
            original in code points), or one summary dict for wholesale transforms, e.g.
            ``{"op": "format", "format": "json"}``.
        tags: labels copied from the plugin (e.g. ``"expects_clarification"``).
        changes_meaning: True when the perturbed prompt no longer asks the same question
            (empty input, gibberish, truncation), so answer invariance is not expected.
    """

    text: str
    original: str
    name: str
    severity: int
    seed: int
    lineage: Lineage = field(default_factory=list)
    tags: tuple[str, ...] = ()
    changes_meaning: bool = False

    @property
    def expects_clarification(self) -> bool:
        """True when a good system answers with a clarification, not with an answer."""
        return EXPECTS_CLARIFICATION in self.tags

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (lone surrogates survive only with ``ensure_ascii=True``)."""
        record = asdict(self)
        record["tags"] = list(self.tags)
        return record


def derive_seed(seed: int, name: str, severity: int, text: str) -> int:
    """Per-(plugin, severity, text) seed, stable across processes and Python versions.

    BLAKE2b over the parts (Python's ``hash`` is salted per process, so it is not used).
    Lone surrogates in ``text`` are hashed through ``surrogatepass``.
    """
    h = hashlib.blake2b(digest_size=8)
    h.update(f"{seed}\x00{name}\x00{severity}\x00".encode())
    h.update(text.encode("utf-8", "surrogatepass"))
    return int.from_bytes(h.digest(), "big")


@dataclass(frozen=True)
class Edit:
    """Replace ``original[pos:end]`` by ``new`` (``pos == end`` inserts)."""

    pos: int
    end: int
    new: str
    op: str


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, Lineage]:
    """Apply non-overlapping edits given against ``text``; return the result and lineage.

    Edits are sorted by position; an edit overlapping an earlier one is skipped, so callers
    may propose edits freely. Insertions at the same position keep their given order.

    Returns:
        ``(new_text, lineage)`` where each lineage item is
        ``{"op", "pos", "from", "to"}`` with ``pos`` a code-point index into ``text``.
    """
    ordered = sorted(enumerate(edits), key=lambda ie: (ie[1].pos, ie[0]))
    out: list[str] = []
    lineage: Lineage = []
    cursor = 0
    for _, e in ordered:
        if e.pos < cursor:
            continue
        out.append(text[cursor : e.pos])
        out.append(e.new)
        lineage.append({"op": e.op, "pos": e.pos, "from": text[e.pos : e.end], "to": e.new})
        cursor = e.end
    out.append(text[cursor:])
    return "".join(out), lineage


def scaled_count(n: int, rate: float) -> int:
    """How many of ``n`` units to perturb at ``rate``: ``round(n * rate)``, at least 1 if n."""
    if n <= 0:
        return 0
    return min(n, max(1, round(n * rate)))


class Perturbation:
    """Base class of every perturbation plugin.

    Subclasses set the class attributes below and implement :meth:`_perturb`. Build
    instances through :data:`perturbations` (``perturbations.create(name, severity=2,
    seed=42)``) so each records its ``spec`` ``(name, arguments)`` for replay.

    Class attributes:
        name: registered name.
        summary: one sentence for listings.
        source: where the technique comes from (paper, library, standard).
        tags: selection labels, e.g. ``"expects_clarification"``.
        changes_meaning: see :attr:`Perturbed.changes_meaning`.
        max_growth, max_extra, min_ratio: declared length bounds in code points,
            ``floor(min_ratio * n) <= len(out) <= max_growth * n + max_extra`` for an input
            of ``n`` code points; the contract tests hold every plugin to them.

    Args:
        severity: 1 (mild), 2 (moderate) or 3 (heavy); scales the amount of noise.
        seed: run seed; combined with the plugin name, severity and input text.

    Raises:
        PluginError: ``severity`` is not 1, 2 or 3.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    source: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    changes_meaning: ClassVar[bool] = False
    max_growth: ClassVar[float] = 1.0
    max_extra: ClassVar[int] = 0
    min_ratio: ClassVar[float] = 0.0
    judged: ClassVar[str] = ("layer 2: the answer to the perturbed input stays equivalent to the "
                             "clean answer (or asks to rephrase when the meaning is gone)")
    replays: ClassVar[str] = "rebuilt from (name, severity, seed): the same text, same edits"

    def __init__(self, severity: int = 1, seed: int = 0) -> None:
        if isinstance(severity, bool) or severity not in SEVERITIES:
            raise PluginError(
                f"perturbation {self.name!r}: severity must be 1, 2 or 3, got {severity!r}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise PluginError(f"perturbation {self.name!r}: seed must be an int, got {seed!r}")
        self.severity = severity
        self.seed = seed
        self.spec: tuple[str, dict[str, Any]] = (self.name, {"severity": severity, "seed": seed})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} severity={self.severity} seed={self.seed}>"

    def level(self, table: Sequence[Any]) -> Any:
        """``table[severity - 1]``: pick the setting for this instance's severity."""
        return table[self.severity - 1]

    def length_bounds(self, n: int) -> tuple[int, int]:
        """Declared ``(min, max)`` output length in code points for an input of ``n``."""
        return int(self.min_ratio * n), int(self.max_growth * n + self.max_extra)

    def apply(self, text: str) -> Perturbed:
        """Perturb ``text``.

        Raises:
            DatasetError: ``text`` is not a string (a malformed golden case).
        """
        if not isinstance(text, str):
            raise DatasetError(
                f"perturbation {self.name!r}: input must be a string, got {type(text).__name__}"
            )
        rng = random.Random(derive_seed(self.seed, self.name, self.severity, text))
        out, lineage = self._perturb(text, rng)
        return Perturbed(
            text=out,
            original=text,
            name=self.name,
            severity=self.severity,
            seed=self.seed,
            lineage=lineage,
            tags=self.tags,
            changes_meaning=self.changes_meaning,
        )

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        raise NotImplementedError


perturbations: Registry[Perturbation] = Registry[Perturbation]("perturbation", listed=True)
"""Every registered perturbation plugin (third parties add theirs via entry points)."""

P = TypeVar("P", bound=type[Perturbation])


def register(cls: P) -> P:
    """Class decorator: register a :class:`Perturbation` subclass under its ``name``.

    Raises:
        PluginError: the name is taken, or the class lacks a name/summary/source.
    """
    if not (cls.name and cls.summary and cls.source):
        raise PluginError(f"perturbation class {cls.__name__} needs name, summary and source")
    perturbations.register(cls.name, summary=cls.summary, layer=2, tags=cls.tags)(cls)
    return cls


def build_perturbations(
    names: Literal["all"] | Sequence[str] = "all",
    severities: Iterable[int] = (1, 3),
    seed: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Perturbation]:
    """Build one instance per (name, severity), names in the given (or sorted) order.

    Args:
        names: ``"all"`` or registered names.
        severities: severity levels (each 1..3).
        seed: run seed shared by every instance.
        options: extra constructor arguments per name, e.g.
            ``{"long_input": {"context_tokens": 8192}}``.

    Raises:
        PluginError: unknown name, bad severity, or an option the plugin does not accept.
    """
    chosen = perturbations.names() if names == "all" else list(names)
    sev = list(severities)
    opts = dict(options or {})
    stray = sorted(set(opts) - set(chosen))
    if stray:
        raise PluginError(f"perturbation options given for unselected name(s): {', '.join(stray)}")
    return [
        perturbations.create(name, severity=s, seed=seed, **dict(opts.get(name, {})))
        for name in chosen
        for s in sev
    ]
