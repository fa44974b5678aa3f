"""Answerability gate of the hardened profile: abstain before the model is asked.

The cosine similarity of the best passage alone (``AppSettings.abstain_below``) lets through
questions that sound like the knowledge base but ask for something it does not hold: "Do you
have a trade-in program where I get store credit for my old headphones?" scores 0.52 against
the non-returnable-items passage. Production RAG stacks pair the dense score with lexical
evidence (hybrid retrieval: BM25 beside the embeddings) and decline when the question's key
terms are not in the retrieved text. Two lexical checks run here, on the sentences of the
message that ask (those ending in "?", alone and each with the sentence before it; the best
coverage of those readings and of the whole message counts), so the filler of a long message
or the fields of a JSON envelope do not dilute the question. The service also retrieves with
the asking sentences (:func:`asking_views`) rather than the whole message:

1. **Term coverage** (:func:`coverage`). The salient terms of the question are its words
   without stop words, generic verbs, adjectives, quantities and time units, and without
   the words of the catalogue's product names (a policy applies to every product, so the
   product is not what needs support), lemmatised lightly (plurals, ``-ed``, ``-ing``). Each
   weighs its inverse document frequency over the knowledge-base passages, BM25's
   ``log((N + 1) / (df + 0.5))``, so a term no passage holds weighs most. The retrieved
   passages must hold at least ``MIN_COVERAGE`` of the weight; a term also counts as held
   when a passage holds a word one edit away (a typo: "refnud").
2. **Unknown names** (:func:`unknown_names`). A capitalised name that extends a known name
   with a word neither the knowledge base nor the product catalogue holds ("Northwind
   QuantumDock", "Care+ Ultimate", "Aria Max 2") names a product or programme the company
   does not have. A name made only of unknown words ("Toronto", "Jordan Avery") is the
   customer's own context, not a claim about the catalogue, and is left to the coverage.

Calibration (offline, retrieval as the app does it, top 3 passages; asserted by
``tests/demo/test_answerability.py``): the 72 golden questions of ``datasets/support.yaml``
without an order number (an order number is answered from the CRM, not gated) against the
``unanswerable`` (15) and ``fabricated_entities`` (10) questions of ``datasets/safety.yaml``.
Coverage of the golden questions is 0.31-1.0 (median 1.0; "store credit" is not in the refund
passages); of the unanswerable ones 0.0-1.0, median 0.16, below 0.25 for 10 of 15; of the
fabricated ones 0.0-0.51, below 0.25 for 4. ``MIN_COVERAGE = 0.25`` and the names check
abstain on no golden question (false-abstention rate 0 of 72), on 12 of 15 unanswerable
ones (6 already below the cosine threshold) and 8 of 10 fabricated ones (the names check
flags 8 of them, and the Apple HomeKit question among the unanswerable ones). The 10
``false_premise`` questions are answerable (the passages hold the correction) and all pass.
On the golden questions perturbed as layer 2 does (typos, casing, zero-width characters,
PII, JSON envelopes, long input; severities 1-3, 1,296 messages), the gate abstains on 32;
the cosine threshold alone on the whole message did on 139, most of them JSON envelopes and
long messages that retrieval now reads through their asking sentences.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aichaos.demo.app._grounding import STOP_WORDS
from aichaos.demo.app._guard import limit_length, normalise, redact

MIN_COVERAGE = 0.25
#: the product catalogue: the item names the CRM sells (``crm_seed.json``)
CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "crm_seed.json"

# generic verbs, adjectives, adverbs, quantities and time units: words any question may use
# whatever it asks about, so their absence from a passage says nothing about its support
_GENERIC_WORDS = """
much many long ago almost already still ever yet anymore soon exactly quickly right really
actually even instead else anything something someone way thing lot bunch case
want need take make come go put use try tried give keep like know tell think look find found
say ask see let happen work buy live cost change mind add arrive afterwards afterward
back another big small old new next last first correct wrong possible
fast cheap expensive good best better bad worse
hour day week month year minute time one two three four five six seven eight nine ten
twenty thirty isn wasn didn doesn don since mine myself reach reply
"""
_STOP = STOP_WORDS | frozenset(_GENERIC_WORDS.split())
_SHORT_STOP = tuple(w for w in _STOP if len(w) >= 3)
_TERM = re.compile(r"[a-z0-9][a-z0-9+]*")
_SEGMENT = re.compile(r"(?<=[.?!])\s+|[\"{}\[\]\n]+")
# a run of capitalised words (digits allowed after the first: "Aria Max 2", "PowerCube 10K")
_NAME = re.compile(r"\b[A-Z][\w+]*(?:[ \t]+(?:[A-Z][\w+]*|\d\w*))*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"(]\s*)$")
_COMMON_CAPS = frozenset({"i", "i'm", "hi", "hello", "dear", "ok"})
# a word with a capital after a small letter and then a small one again ("HAvE", "MySELf"):
# one is a brand ("QuantumDock"), two or more are a randomly cased message
_RANDOM_CASE = re.compile(r"\b\w*[a-z][A-Z]+[a-z]\w*|\b[A-Z]{2,}[a-z]\w*")


def lemma(word: str) -> str:
    """A light lemma of a lower-case word: plural, ``-ed`` and ``-ing`` removed, ``-mme`` to
    ``-m`` ("programme" = "program"), a final double letter made single ("cancelled" =
    "cancel"), a final ``e`` dropped ("charge" = "charged"). Both sides of a comparison go
    through it, so consistency matters more than linguistics."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"),
                         ("xes", "x")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    if word.endswith("mme"):
        word = word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2]:  # "shipp(ed)", "cancell(ed)", "install"
        word = word[:-1]
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _words(text: str) -> list[str]:
    return _TERM.findall(text.lower().replace("-", " "))


def _is_stop(word: str, known: frozenset[str]) -> bool:
    """A stop or generic word, or a word the app does not know one edit from one (a typo:
    "fhe", "bqck", "gwt"; "fee" is known, so it is not "few" misspelt)."""
    if word in _STOP or lemma(word) in _STOP:
        return True
    return word.isalpha() and word not in known and lemma(word) not in known and any(
        near(word, s, 3) for s in _SHORT_STOP if abs(len(s) - len(word)) <= 1)


def near(a: str, b: str, min_len: int = 5) -> bool:
    """True when ``a`` and ``b`` are at most one edit apart (insert, delete, substitute or
    swap two neighbours) and both have ``min_len``+ characters (shorter: equal only)."""
    if a == b:
        return True
    if min(len(a), len(b)) < min_len or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1:]
    return a[i + 1:] == b[i + 1:] or (i + 1 < len(a) and a[i] == b[i + 1]
                                      and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:])


@dataclass(frozen=True)
class Vocabulary:
    """What the app knows, for the gate.

    Attributes:
        doc_freq: number of passages holding each term (lemma).
        n_docs: number of passages.
        known: lower-case words and lemmas of the passages, their titles and the catalogue.
        neutral: lemmas of the catalogue's product-name words (never salient).
    """

    doc_freq: Mapping[str, int]
    n_docs: int
    known: frozenset[str]
    neutral: frozenset[str]

    @classmethod
    def build(cls, passages: Iterable[str], catalogue: Iterable[str] = ()) -> Vocabulary:
        """From passage texts (quoted with their titles) and product names."""
        words = [_words(p) for p in passages]
        docs = [set(map(lemma, ws)) for ws in words]
        names = [w for name in catalogue for w in _words(name)]
        raw = {w for ws in words for w in ws} | set(names)
        known = raw | {lemma(w) for w in raw}
        neutral = {lemma(w) for w in names} - {"northwind"}
        return cls(Counter(t for d in docs for t in d), len(docs), frozenset(known),
                   frozenset(neutral))

    def weight(self, term: str) -> float:
        """Inverse document frequency of ``term``, ``log((N + 1) / (df + 0.5))`` (> 0)."""
        return math.log((self.n_docs + 1) / (self.doc_freq.get(term, 0) + 0.5))

    def knows(self, word: str) -> bool:
        """True when ``word`` (any case), its lemma or a word one edit away is known."""
        w = word.lower()
        if w in self.known or lemma(w) in self.known or w in _COMMON_CAPS:
            return True
        return len(w) >= 5 and any(near(w, k) for k in self.known if abs(len(k) - len(w)) <= 1)


def load_catalogue(path: Path = CATALOGUE_FILE) -> list[str]:
    """Product names of the catalogue: the distinct item names of the CRM's seed orders
    (``[]`` when the file is missing or unreadable)."""
    try:
        orders = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return sorted({str(i["name"]) for o in orders for i in o.get("items") or []
                   if isinstance(i, dict) and i.get("name")})


def asked(text: str, *, with_previous: bool = False) -> str:
    """The sentences of ``text`` that ask (end in "?"), joined; ``text`` when none does.

    Sentences end at ``.``, ``?`` or ``!`` followed by a space, and at quotes, brackets and
    line breaks (the fields of a JSON envelope). ``with_previous`` adds the sentence before
    each question ("My payment was declined. Is my order lost?").
    """
    parts = [p.strip() for p in _SEGMENT.split(text)]
    parts = [p for p in parts if p]
    chosen: dict[int, None] = {}
    for i, part in enumerate(parts):
        if part.endswith("?") and len(part) > 1:
            if with_previous and i:
                chosen[i - 1] = None
            chosen[i] = None
    return " ".join(parts[i] for i in chosen) if chosen else text


def asking_views(message: str) -> list[str]:
    """The three readings of a raw ``message`` the gate judges (equal ones repeat): the
    asking sentences alone, each with the sentence before it (the retrieval query), and the
    whole message. Call it before whitespace is collapsed: line breaks end sentences (the
    filler of a long message)."""
    return [asked(message), asked(message, with_previous=True), message]


def prepared_views(message: str, max_chars: int, secrets: Iterable[str] = ()) -> list[str]:
    """:func:`asking_views` of a raw ``message``, each normalised, cut to ``max_chars`` and
    redacted as the hardened pipeline treats input; the second is the retrieval query."""
    return [redact(limit_length(normalise(v), max_chars), secrets) for v in asking_views(message)]


def salient_terms(text: str, vocab: Vocabulary) -> list[str]:
    """Lemmas of the salient words of ``text``, in order, without repeats (see the module
    docstring: no stop, generic or product-name words, no bare numbers)."""
    out = []
    for w in _words(text):
        term = lemma(w)
        if (len(w) >= 3 and not w.isdigit() and term not in vocab.neutral
                and not _is_stop(w, vocab.known)):
            out.append(term)
    return list(dict.fromkeys(out))


def coverage(question: str, passages: Sequence[str],
             vocab: Vocabulary) -> tuple[float, list[str]]:
    """IDF-weighted share of the question's salient terms the passages hold, and the terms
    they miss. 1.0 when the question has no salient term.

    Args:
        question: the asking sentences (:func:`asked`).
        passages: the retrieved passage texts, with their titles.
        vocab: document frequencies for the weights.
    """
    terms = salient_terms(question, vocab)
    if not terms:
        return 1.0, []
    held = {lemma(w) for p in passages for w in _words(p)}
    missing = [t for t in terms if t not in held
               and not any(near(t, h) for h in held if abs(len(h) - len(t)) <= 1)]
    total = sum(vocab.weight(t) for t in terms)
    return 1.0 - sum(vocab.weight(t) for t in missing) / total, missing


def unknown_names(question: str, vocab: Vocabulary) -> list[str]:
    """Unknown words of capitalised names that extend a known name (see the module
    docstring). Empty for shouted text (mostly capitals), where case says nothing."""
    letters = [c for c in question if c.isalpha()]
    if not letters or sum(c.isupper() for c in letters) > 0.5 * len(letters) or len(
            _RANDOM_CASE.findall(question)) > 1:
        return []
    out: list[str] = []
    for m in _NAME.finditer(question):
        words = m.group().split()
        if _SENTENCE_START.search(question[: m.start()]) and not any(
                c.isupper() or c.isdigit() for c in words[0][1:]):
            words = words[1:]  # a capital because the sentence starts there
        names = [w for w in words if not w[0].isdigit()]  # model numbers: "10K", "140W"
        unknown = [w for w in names if w.lower() not in _STOP and not vocab.knows(w)]
        if unknown and len(unknown) < len(names):
            out += unknown
    return out


@dataclass(frozen=True)
class Answerability:
    """The gate's decision.

    Attributes:
        answerable: ``False`` when the app should abstain.
        reason: ``None``, ``"weak_retrieval"`` (best cosine below the threshold),
            ``"uncovered_terms"`` or ``"unknown_name"``.
        best_score: cosine similarity of the best passage.
        coverage: IDF-weighted share of the salient terms held by the passages (0..1).
        missing: the salient terms (or unknown name words) behind a refusal.
    """

    answerable: bool
    reason: str | None
    best_score: float
    coverage: float
    missing: tuple[str, ...] = ()


def assess(views: Sequence[str], hits: Sequence[tuple[str, float]], vocab: Vocabulary, *,
           min_score: float, min_coverage: float = MIN_COVERAGE) -> Answerability:
    """Whether the retrieved passages can answer the question.

    Args:
        views: :func:`asking_views` of the customer's message, each normalised and redacted
            (names are read in the first, the question alone; coverage is the best of all:
            statements around a question may carry its topic, or be chatter that dilutes it).
        hits: retrieved ``(passage text with title, cosine similarity)``, best first.
        vocab: the knowledge base's :class:`Vocabulary`.
        min_score: lowest acceptable cosine of the best passage
            (``AppSettings.abstain_below``).
        min_coverage: lowest acceptable term coverage (``MIN_COVERAGE``, calibrated above).
    """
    best = hits[0][1] if hits else 0.0
    texts = [text for text, _ in hits]
    share, missing = max((coverage(v, texts, vocab) for v in dict.fromkeys(views)),
                         key=lambda c: c[0], default=(1.0, []))
    if best < min_score:
        return Answerability(False, "weak_retrieval", best, share, tuple(missing))
    names = unknown_names(views[0], vocab) if views else []
    if names:
        return Answerability(False, "unknown_name", best, share, tuple(names))
    if share < min_coverage:
        return Answerability(False, "uncovered_terms", best, share, tuple(missing))
    return Answerability(True, None, best, share, tuple(missing))
